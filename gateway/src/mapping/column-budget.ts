import { randomBytes } from 'node:crypto';
import type { DeclaredFields } from '../schema/derived.ts';
import type { FieldType } from '../schema/point.ts';

// About 400 lines on purpose: the protocol, its state and the point pass that applies it to whole
// points read best together; the proof they must keep to is in docs/data-model.md.

/**
 * The column budget (SPAN_ATTRIBUTE_FIELDS_MAX): how many fields a measurement may get beyond the
 * ones the schema declares, shared by every process that writes to one database. InfluxDB 3 refuses
 * writes past its column limit per table, and thousands of fields hurt 1.x too.
 *
 * The protocol (docs/data-model.md, "A column budget", has the proof). The only shared state is an
 * append-only claim log in the database (`ColumnClaimLog`; store/column-claims.ts on InfluxDB):
 * - A process asks for *reservations*: anonymous slots, one row each. A reservation is granted
 *   when a read made after its row was acknowledged shows at most `max` entries in the table: the
 *   distinct admitted columns plus the reservations not released. Otherwise it is released again.
 * - A granted reservation becomes a column synchronously, on the hot path: the column is used at
 *   once; an `admit` row for it is written, and only once that is acknowledged is the reservation
 *   released. So an admitted column is always covered by a visible admit row or a live reservation,
 *   and two processes can never together admit more than `max`.
 * - Columns the database already has (SHOW FIELD KEYS) and pinned ones (MAPPING_FILE) are written
 *   as admitted before anything else, so they count.
 * A column without a decision is *pending*: its values go to the overflow field meanwhile
 * (mapping/overflow-json.ts), and it is reserved for in the background.
 */

export type ClaimKind = 'column' | 'reservation';
export type ClaimState = 'admit' | 'reserve' | 'release';

export interface ColumnClaim {
  /** The measurement. */
  readonly table: string;
  readonly claimant: string;
  readonly kind: ClaimKind;
  /** The column's name, or the reservation's number. */
  readonly entry: string;
  readonly state: ClaimState;
  /** The admitted column's type; '' for reservations. */
  readonly type: FieldType | '';
  /** Nanoseconds; orders one claimant's rows of one entry. */
  readonly time: bigint;
}

export interface ColumnClaimLog {
  /** Every row. Must show every row whose append was acknowledged before the read began. */
  read(): Promise<readonly ColumnClaim[]>;
  /** Resolves once the database acknowledged the rows; rejects otherwise. */
  append(rows: readonly ColumnClaim[]): Promise<void>;
  /** The fields `tables` already have in the database (SHOW FIELD KEYS), declared ones included. */
  existing(tables: readonly string[]): Promise<ReadonlyMap<string, ReadonlyMap<string, FieldType>>>;
}

export interface ColumnBudgetEvents {
  /** A column admitted by the log (another process, an earlier run, or the database itself) and its type. */
  adopted?(table: string, column: string, type: FieldType): void;
  /** A round failed (database unreachable, …); pending columns stay pending and it is retried. */
  problem?(what: string, err: unknown): void;
}

export interface ColumnBudgetOptions {
  /** Fields per measurement beyond the declared ones. */
  readonly max: number;
  readonly log: ColumnClaimLog;
  readonly declared: DeclaredFields;
  /** Measurements whose existing fields are counted at start-up (the ones with attribute fields). */
  readonly seedTables: readonly string[];
  /** Field names always admitted (MAPPING_FILE `pinnedFields`): they count, but are never refused. */
  readonly pinned?: readonly string[];
  readonly events?: ColumnBudgetEvents;
  /** Spare reservations kept per measurement while the budget has room (default 16). */
  readonly spares?: number;
  /** First retry delay after a failed or contended round (default 200 ms; doubles to 30 s). */
  readonly retryMillis?: number;
  readonly claimant?: string;
}

export interface ColumnBudget {
  /** True when `column` may be written as a field of `table` now; false: it goes to the overflow field. */
  admits(table: string, column: string, type: FieldType): boolean;
  /** Changes whenever an answer of `admits` could change from false to true. */
  readonly version: number;
  readonly max: number;
  /** Admitted fields per measurement (for /metrics). */
  inUse(): ReadonlyMap<string, number>;
  /** Resolves after the first round (seeded, spares reserved) or its failure. */
  ready(): Promise<void>;
  /** Resolves once no round is running or due (tests). */
  settled(): Promise<void>;
  /** Stops the background rounds. */
  close(): void;
}

interface Table {
  readonly admitted: Map<string, FieldType | ''>;
  /** Admitted here and not yet acknowledged in the log: the reservation each one used. */
  readonly unlogged: Map<string, string>;
  /** Granted reservations not yet used. */
  readonly spare: string[];
  /** Reservations asked for and not yet granted: they count, but nothing may use them. */
  asking: string[];
  /** Wanted columns without a decision (bounded), with the type first asked for. */
  readonly pending: Map<string, FieldType>;
  /** Entries the last read showed (admitted columns + live reservations). */
  entries: number;
}

const MAX_PENDING = 1024;
const MAX_RETRY_MILLIS = 30_000;
/** Pending columns while other processes hold the room: asked for again this often. */
const LATER_MILLIS = 5000;

/** No budget: every column is admitted (the embedded store keeps attributes in a JSON column). */
export const UNLIMITED: ColumnBudget = {
  admits: () => true,
  version: 0,
  max: Number.POSITIVE_INFINITY,
  inUse: () => new Map(),
  ready: () => Promise.resolve(),
  settled: () => Promise.resolve(),
  close: () => undefined,
};

// Over 120 lines on purpose: one protocol whose steps (load, reserve, grant, convert, log) share
// the per-table state and the single round in flight; docs/data-model.md walks through it.
export function createColumnBudget(opts: ColumnBudgetOptions): ColumnBudget {
  const { max, log } = opts;
  const claimant = opts.claimant ?? randomBytes(6).toString('hex');
  const pinned = new Set(opts.pinned ?? []);
  const spareTarget = opts.spares ?? 16;
  const tables = new Map<string, Table>();
  let version = 0;
  let loaded = false;
  let nextReservation = 0;
  let lastTime = 0n;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retry = opts.retryMillis ?? 200;
  let closed = false;
  let readyResolve: () => void = () => undefined;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));

  function table(name: string): Table {
    let t = tables.get(name);
    if (t === undefined) {
      t = { admitted: new Map(), unlogged: new Map(), spare: [], asking: [], pending: new Map(), entries: 0 };
      tables.set(name, t);
    }
    return t;
  }

  /** A clock that never repeats or goes back in this process: it orders our rows of one series. */
  function now(): bigint {
    const t = BigInt(Date.now()) * 1_000_000n;
    lastTime = t > lastTime ? t : lastTime + 1n;
    return lastTime;
  }

  const row = (tableName: string, kind: ClaimKind, entry: string, state: ClaimState, type: FieldType | ''): ColumnClaim => ({ table: tableName, claimant, kind, entry, state, type, time: now() });

  function schedule(delay: number): void {
    if (closed || timer !== undefined || running !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = round()
        .then((next) => {
          retry = opts.retryMillis ?? 200;
          // `schedule` does nothing while `running` is set: clear it first.
          running = undefined;
          if (next === 'now') schedule(0);
          else if (next === 'later') schedule(LATER_MILLIS);
        })
        .catch((err: unknown) => {
          opts.events?.problem?.('column budget round failed; pending attributes go to the overflow field until it succeeds', err);
          retry = Math.min(MAX_RETRY_MILLIS, retry * 2);
          running = undefined;
          schedule(retry * (0.5 + Math.random()));
        })
        .finally(() => readyResolve());
    }, delay);
    // A retry must not keep a stopping process alive; a round due now may (it is short).
    if (delay > 0) timer.unref();
  }

  /** Admitted columns here whose admit row the last read did not show (expired by retention): written again. */
  let unseen: ColumnClaim[] = [];

  /** Folds the log into the tables: admitted columns (adopting others'), entries per table. */
  function apply(rows: readonly ColumnClaim[]): void {
    const last = new Map<string, ColumnClaim>();
    for (const r of rows) {
      const id = `${r.table}\u0000${r.claimant}\u0000${r.kind}\u0000${r.entry}`;
      const seen = last.get(id);
      if (seen === undefined || r.time >= seen.time) last.set(id, r);
    }
    const live = new Map<string, Set<string>>();
    for (const r of last.values()) {
      const t = table(r.table);
      let set = live.get(r.table);
      if (set === undefined) live.set(r.table, (set = new Set()));
      if (r.kind === 'column' && r.state === 'admit') {
        set.add(`c\u0000${r.entry}`);
        if (!t.admitted.has(r.entry)) {
          t.admitted.set(r.entry, r.type);
          t.pending.delete(r.entry);
          version++;
          if (r.type !== '') opts.events?.adopted?.(r.table, r.entry, r.type);
        }
      } else if (r.kind === 'reservation' && r.state === 'reserve') set.add(`r\u0000${r.claimant}\u0000${r.entry}`);
    }
    unseen = [];
    for (const [name, t] of tables) {
      // What this process knows counts even if the read missed it: a log that loses rows must not widen the budget.
      const set = live.get(name) ?? new Set<string>();
      for (const [c, type] of t.admitted) if (!set.has(`c\u0000${c}`) && !t.unlogged.has(c)) unseen.push(row(name, 'column', c, 'admit', type));
      for (const c of t.admitted.keys()) set.add(`c\u0000${c}`);
      for (const r of [...t.spare, ...t.asking, ...t.unlogged.values()]) set.add(`r\u0000${claimant}\u0000${r}`);
      t.entries = set.size;
    }
  }

  /** Start-up: the database's own fields and the pinned ones, admitted before any reservation. */
  async function load(): Promise<void> {
    const rows = await log.read();
    apply(rows);
    const existing = await log.existing(opts.seedTables);
    const admits: ColumnClaim[] = [];
    for (const [name, fields] of existing) {
      const declared = opts.declared.of(name);
      const t = table(name);
      for (const [column, type] of fields) {
        opts.events?.adopted?.(name, column, type);
        if (declared.has(column) || t.admitted.has(column)) continue;
        admits.push(row(name, 'column', column, 'admit', type));
      }
    }
    for (const name of opts.seedTables) for (const column of pinned) if (!table(name).admitted.has(column) && !opts.declared.of(name).has(column)) admits.push(row(name, 'column', column, 'admit', ''));
    if (admits.length > 0) await log.append(admits);
    for (const a of admits) table(a.table).admitted.set(a.entry, a.type);
    if (admits.length > 0) version++;
    loaded = true;
  }

  /** Writes admit rows for columns admitted here, then releases their reservations. */
  async function logConversions(): Promise<void> {
    const admits: ColumnClaim[] = [];
    const releases: ColumnClaim[] = [];
    for (const [name, t] of tables) {
      for (const [column, reservation] of t.unlogged) {
        admits.push(row(name, 'column', column, 'admit', t.admitted.get(column) ?? ''));
        releases.push(row(name, 'reservation', reservation, 'release', ''));
      }
    }
    if (admits.length === 0) return;
    await log.append(admits);
    // Only now: until the admit rows are visible, the reservations are what counts these columns.
    await log.append(releases);
    for (const r of admits) table(r.table).unlogged.delete(r.entry);
  }

  /** One round; says when the next one is due. */
  async function round(): Promise<'now' | 'later' | 'done'> {
    if (!loaded) await load();
    await logConversions();
    // Reservations a failed round asked for may be in the log, ungranted: give them back first.
    const stale = [...tables].flatMap(([name, t]) => t.asking.map((e) => row(name, 'reservation', e, 'release', '')));
    if (stale.length > 0) {
      await log.append(stale);
      for (const t of tables.values()) t.asking = [];
    }
    apply(await log.read());
    // The database's retention may have expired old rows: the columns in use must stay in the log, or others would count too few.
    if (unseen.length > 0) await log.append(unseen);
    const asked: ColumnClaim[] = [];
    for (const [name, t] of tables) {
      if (t.admitted.size >= max) {
        // Full for good: admitted columns are never given back.
        t.pending.clear();
        continue;
      }
      const room = max - t.entries;
      // Spares keep a new attribute's first values out of the overflow field; fewer as room runs out,
      // so processes holding spares cannot keep much of the budget unused.
      const wantSpares = opts.seedTables.includes(name) || t.admitted.size > 0 ? Math.min(spareTarget, Math.floor(room / 8)) : 0;
      const want = Math.min(room, t.pending.size + wantSpares) - t.spare.length;
      for (let i = 0; i < want; i++) asked.push(row(name, 'reservation', String(nextReservation++), 'reserve', ''));
    }
    if (asked.length > 0) {
      // Counted as ours from the moment they may be visible, usable only once granted.
      for (const r of asked) table(r.table).asking.push(r.entry);
      await log.append(asked);
      apply(await log.read());
      const released: ColumnClaim[] = [];
      for (const name of new Set(asked.map((r) => r.table))) {
        const t = table(name);
        const mine = t.asking;
        t.asking = [];
        // Granted: the read came after the rows were acknowledged and shows at most `max` entries.
        if (t.entries <= max) {
          t.spare.push(...mine);
          continue;
        }
        // Over: another process reserved at the same time. Give back what this round asked for.
        for (const e of mine) released.push(row(name, 'reservation', e, 'release', ''));
      }
      if (released.length > 0) {
        await log.append(released);
        throw new Error('contended: another process reserved at the same time; retrying after a random delay');
      }
    }
    // Pending columns take the new spares now; their values reach a field from the next span on.
    let converted = false;
    for (const t of tables.values()) {
      for (const [column, type] of t.pending) {
        const r = t.spare.pop();
        if (r === undefined) break;
        t.pending.delete(column);
        t.admitted.set(column, type);
        t.unlogged.set(column, r);
        converted = true;
      }
    }
    if (converted) version++;
    const open = [...tables.values()];
    if (open.some((t) => t.unlogged.size > 0 || (t.pending.size > 0 && t.entries < max))) return 'now';
    // Room held by other processes' spares or unfinished reservations: ask again later.
    return open.some((t) => t.pending.size > 0 && t.admitted.size < max) ? 'later' : 'done';
  }

  return {
    admits(tableName, column, type) {
      if (max <= 0) return false;
      const t = table(tableName);
      if (t.admitted.has(column) || pinned.has(column)) return true;
      if (loaded && t.admitted.size >= max) return false;
      const r = loaded ? t.spare.pop() : undefined;
      if (r !== undefined) {
        t.admitted.set(column, type);
        t.unlogged.set(column, r);
        version++;
        schedule(0);
        return true;
      }
      if (t.pending.size < MAX_PENDING && !t.pending.has(column)) {
        t.pending.set(column, type);
        schedule(0);
      }
      return false;
    },
    get version() {
      return version;
    },
    max,
    inUse() {
      return new Map([...tables].map(([name, t]) => [name, t.admitted.size]));
    },
    ready() {
      schedule(0);
      return readyPromise;
    },
    async settled() {
      for (;;) {
        if (timer !== undefined) await new Promise((r) => setTimeout(r, 5));
        else if (running !== undefined) await running;
        else return;
      }
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      readyResolve();
    },
  };
}
