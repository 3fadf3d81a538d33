import { escapeFieldKey } from '../../influx/line-protocol.ts';
import type { FieldType } from '../../schema/point.ts';
import type { FieldTypeRegistry } from '../../mapping/field-types.ts';
import { KNOWN_BY_KEY } from '../../schema/attributes.ts';
import { DROPPED_ATTRIBUTES, SPANS_RESERVED } from '../../schema/derived.ts';

/**
 * The fused encoder's attribute keys: a key is looked up by its bytes in a table built once per
 * key (most requests repeat a few dozen), which holds the canonical key (after aliases), what the
 * mapping does with it (schema/attributes.ts) and its escaped, type-resolved `spans` field key.
 */

/** One canonical attribute key, shared by every spelling that maps to it. */
export interface Canon {
  readonly key: string;
  /** Never stored (the tenant). */
  readonly dropped: boolean;
  /** A known attribute's slot (schema/attributes.ts SLOT), or -1. */
  readonly slot: number;
  readonly fallback: boolean;
  /** Also a `spans` field: every attribute that is not known, and the known ones that say so. */
  readonly field: boolean;
  /** A name `spans` writes itself: the reference path renames it (`attr_…`) per span. */
  readonly reserved: boolean;
  /** The span (stamp) whose field list holds this key, and where (span-values.ts). */
  stamp: number;
  restIndex: number;
  /** `,key=` resolved and escaped per value kind, valid while the registry's version holds. */
  readonly fieldKeys: Array<Buffer | undefined>;
  fieldVersion: number;
}

/** A key as it arrived (bytes), for the byte-keyed table. */
interface KeyEntry {
  readonly bytes: Buffer;
  readonly canon: Canon;
}

const KEY_TABLE_SIZE = 4096;
const MAX_CACHED_KEYS = 2048;
const NO_FIELD = Buffer.alloc(0);
/** `fieldKey`'s answer for a key without a column (the budget, field-types.ts rule 4): into the overflow field. */
export const OVERFLOW = Buffer.from('\u0000overflow');

export class AttributeKeys {
  private readonly canons = new Map<string, Canon>();
  /**
   * Keys past MAX_CACHED_KEYS, for the current request only: two spellings of one key, or one key
   * in the resource and the span, must still be one Canon, or their fields would not collapse.
   */
  private readonly overflow = new Map<string, Canon>();
  private readonly table: Array<KeyEntry | undefined> = new Array<KeyEntry | undefined>(KEY_TABLE_SIZE).fill(undefined);
  private cached = 0;
  private readonly aliases: ReadonlyMap<string, string>;

  constructor(
    aliases: Readonly<Record<string, string>>,
    private readonly fieldTypes: FieldTypeRegistry,
    private readonly measurement: string,
  ) {
    this.aliases = new Map(Object.entries(aliases));
  }

  /** Before each request: per-request keys are forgotten. */
  startRequest(): void {
    if (this.overflow.size > 0) this.overflow.clear();
  }

  /**
   * The last `at` answered with a Canon the table keeps for good (the same bytes always find it),
   * not one made for the current request only: a front end may remember it past the request.
   */
  lastKept = false;

  /** The key in buf[start, end), found by its bytes. */
  at(buf: Buffer, start: number, end: number): Canon {
    this.lastKept = false;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const len = end - start;
    let slot = (h >>> 0) & (KEY_TABLE_SIZE - 1);
    for (let probe = 0; probe < 8; probe++) {
      const e = this.table[slot];
      if (e === undefined) {
        const canon = this.canonFor(buf.toString('utf8', start, end));
        // A key that only got a per-request Canon must not outlive the request here.
        if (this.cached < MAX_CACHED_KEYS && this.canons.get(canon.key) === canon) {
          this.table[slot] = { bytes: Buffer.from(buf.subarray(start, end)), canon };
          this.cached++;
          this.lastKept = true;
        }
        return canon;
      }
      const b = e.bytes;
      if (b.length === len) {
        let same = true;
        for (let i = 0; i < len; i++) {
          if (b[i] !== buf[start + i]) {
            same = false;
            break;
          }
        }
        if (same) {
          this.lastKept = true;
          return e.canon;
        }
      }
      slot = (slot + 1) & (KEY_TABLE_SIZE - 1);
    }
    return this.canonFor(buf.toString('utf8', start, end));
  }

  private canonFor(raw: string): Canon {
    const key = this.aliases.get(raw) ?? raw;
    let c = this.canons.get(key) ?? this.overflow.get(key);
    if (c !== undefined) return c;
    const known = KNOWN_BY_KEY.get(key);
    const field = known === undefined || known.alsoField;
    c = {
      key,
      dropped: DROPPED_ATTRIBUTES.has(key),
      slot: known?.slot ?? -1,
      fallback: known?.fallback ?? false,
      field,
      // Reserved names and hand-back attributes both send the request to the reference path.
      reserved: (field && SPANS_RESERVED.has(key)) || (known?.handBack ?? false),
      stamp: 0,
      restIndex: 0,
      fieldKeys: [undefined, undefined, undefined, undefined, undefined],
      fieldVersion: -1,
    };
    // Bounded: past it, a key is found (and costs) like the reference path's, for one request.
    (this.canons.size < MAX_CACHED_KEYS ? this.canons : this.overflow).set(key, c);
    return c;
  }

  /**
   * `,key=` for a value of kind `kind` (its field type `type`) in `spans`: the field key resolved
   * (registry rule 3) and escaped; an empty buffer when the key escapes to nothing (skip the field);
   * OVERFLOW when the column budget has no place for it (rule 4). The budget decides here, in the
   * core every front end of the fused encoder shares.
   * A conflict is only noted in `conflicts`: it is counted once the request is taken.
   */
  fieldKey(c: Canon, kind: number, type: FieldType, conflicts: Array<[string, FieldType]>): Buffer {
    const registry = this.fieldTypes;
    const version = registry.version;
    if (c.fieldVersion === version) {
      const cached = c.fieldKeys[kind];
      if (cached !== undefined) return cached;
    } else {
      c.fieldKeys.fill(undefined);
      c.fieldVersion = version;
    }
    const r = registry.resolveQuietly(this.measurement, c.key, type);
    if (r === undefined) {
      // Asking again gives the same answer until the version changes (a column admitted meanwhile).
      c.fieldKeys[kind] = OVERFLOW;
      c.fieldVersion = registry.version;
      return OVERFLOW;
    }
    const escaped = escapeFieldKey(r.key);
    const bytes = escaped === '' ? NO_FIELD : Buffer.from(`,${escaped}=`, 'utf8');
    if (r.conflict) conflicts.push([c.key, type]);
    // Cached only while resolving again would give the same key without a conflict to count.
    else if (registry.holds(this.measurement, c.key, type)) {
      c.fieldKeys[kind] = bytes;
      c.fieldVersion = registry.version;
    }
    return bytes;
  }
}
