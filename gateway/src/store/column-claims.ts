import { createHash } from 'node:crypto';
import type { InfluxConfig } from '../config.ts';
import { encodeLine } from '../influx/line-protocol.ts';
import type { WriteTransport } from '../influx/transport.ts';
import { createColumnBudget, type ClaimKind, type ClaimState, type ColumnBudget, type ColumnBudgetEvents, type ColumnClaim, type ColumnClaimLog } from '../mapping/column-budget.ts';
import type { MappingRules } from '../mapping/rules.ts';
import { declaredFields } from '../schema/derived.ts';
import { ident } from '../query/influxql.ts';
import { FIELD_TYPE_NAMES, readFieldTypes } from '../query/field-types-from-db.ts';
import { runInfluxQL } from '../query/influxql-http.ts';
import { COLUMN_CLAIMS, LOGS } from '../schema/measurements.ts';

/**
 * The column budget's claim log in InfluxDB (mapping/column-budget.ts): the `tenantlens_column_claims`
 * measurement (schema COLUMN_CLAIMS), written through the store's own transport (each append is
 * one write request, acknowledged or not; never spooled or batched: the protocol waits for the
 * acknowledgement) and read back with InfluxQL over `/query`, on every InfluxDB version.
 *
 * The column's name travels as a string field, which line protocol carries exactly; the `entry`
 * tag that keeps one claimant's rows of one column in a series is a hash of it (tag escaping cannot
 * carry every key, a trailing backslash for one).
 */

const KINDS: ReadonlySet<string> = new Set<ClaimKind>(['column', 'reservation']);
const STATES: ReadonlySet<string> = new Set<ClaimState>(['admit', 'reserve', 'release']);

interface Series {
  readonly columns: string[];
  readonly values: unknown[][];
}

function entryTag(r: ColumnClaim): string {
  return r.kind === 'reservation' ? r.entry : createHash('sha1').update(r.entry).digest('hex').slice(0, 16);
}

/** One claim row as line protocol. */
export function claimLine(r: ColumnClaim): string {
  const line = encodeLine({
    measurement: COLUMN_CLAIMS.name,
    tags: [
      ['claimant', r.claimant],
      ['entry', entryTag(r)],
      ['kind', r.kind],
      ['table', r.table],
    ],
    fields: [
      ['column', { type: 'string', value: r.kind === 'column' ? r.entry : '' }],
      ['state', { type: 'string', value: r.state }],
      ['type', { type: 'string', value: r.type }],
    ],
    timestamp: r.time,
  });
  if (line === undefined) throw new Error('a claim row has no fields');
  return line;
}

/** Rows of a `SELECT *` answer (times as `epoch=u`); rows that are not claims are skipped. */
export function claimRows(series: readonly Series[]): ColumnClaim[] {
  const out: ColumnClaim[] = [];
  for (const s of series) {
    const at = (name: string): number => s.columns.indexOf(name);
    const [time, table, claimant, kind, entry, column, state, type] = ['time', 'table', 'claimant', 'kind', 'entry', 'column', 'state', 'type'].map(at) as number[];
    for (const v of s.values) {
      const k = String(v[kind as number] ?? '');
      const st = String(v[state as number] ?? '');
      if (!KINDS.has(k) || !STATES.has(st)) continue;
      out.push({
        table: String(v[table as number] ?? ''),
        claimant: String(v[claimant as number] ?? ''),
        kind: k as ClaimKind,
        entry: k === 'column' ? String(v[column as number] ?? '') : String(v[entry as number] ?? ''),
        state: st as ClaimState,
        type: FIELD_TYPE_NAMES[String(v[type as number] ?? '')] ?? '',
        time: BigInt(Math.trunc(Number(v[time as number]))) * 1000n,
      });
    }
  }
  return out;
}

export function createInfluxClaimLog(config: InfluxConfig, transport: WriteTransport): ColumnClaimLog {
  async function query(q: string): Promise<Array<{ error?: string; series?: Series[] }>> {
    return runInfluxQL<Series>({ ...config, timeoutMillis: Math.min(config.timeoutMillis, 5000) }, q);
  }
  return {
    async read() {
      const [r] = await query(`SELECT * FROM ${ident(COLUMN_CLAIMS.name)}`);
      // Not written yet: no claims.
      if (r?.error !== undefined && !/not found/.test(r.error)) throw new Error(`reading the claim log failed: ${r.error}`);
      return claimRows(r?.series ?? []);
    },
    async append(rows) {
      if (rows.length === 0) return;
      const out = await transport.write(Buffer.from(rows.map(claimLine).join('\n'), 'utf8'), rows.length);
      if (out.kind !== 'success') throw new Error(`writing the claim log failed (${out.kind}): ${out.reason}`);
    },
    existing(tables) {
      return readFieldTypes(config, tables);
    },
  };
}

export interface InfluxColumnBudgetOptions {
  readonly config: InfluxConfig;
  readonly transport: WriteTransport;
  readonly rules: MappingRules;
  /** SPAN_ATTRIBUTE_FIELDS_MAX. */
  readonly max: number;
  readonly events?: ColumnBudgetEvents;
}

/** The column budget of one InfluxDB database, shared with every process writing to it through the claim log. */
export function createInfluxColumnBudget(opts: InfluxColumnBudgetOptions): ColumnBudget {
  const { rules } = opts;
  return createColumnBudget({
    max: opts.max,
    log: createInfluxClaimLog(opts.config, opts.transport),
    declared: declaredFields(rules),
    // The measurements with attribute fields, and the two the cardinality guard demotes into most.
    seedTables: [rules.spans.name, LOGS.name, rules.frontend.name, rules.backend.name],
    pinned: rules.pinnedFields,
    ...(opts.events === undefined ? {} : { events: opts.events }),
  });
}
