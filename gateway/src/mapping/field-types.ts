import type { FieldType, FieldValue } from '../schema/point.ts';
import type { AttrValue } from '../otlp/model.ts';
import { OVERFLOW_FIELD, RENAME_PREFIX } from '../schema/measurements.ts';
import { UNLIMITED, type ColumnBudget } from './column-budget.ts';
import { encodeOverflow } from './overflow-json.ts';

/**
 * Keeps every dynamic attribute field at one type per measurement, because InfluxDB rejects a
 * line whose field changes type (a partial write: the data is lost).
 *
 * The rule, applied to attributes that are not known fields:
 *  1. int and double attributes are both written as float. The OTel JS SDK sends a whole-number
 *     double (13.0) as intValue 13, so "int vs double" carries no meaning and would flip the type.
 *  2. string, bool, and arrays/maps (JSON strings) keep their type.
 *  3. The first type seen for a key in a measurement wins (seeded from the database's own field
 *     list at start-up when it can be read). A value of another type goes to `<key>__<type>`
 *     instead, e.g. `http.status_code__string` (suffixed again if that key holds yet another type),
 *     and the conflict is counted. Nothing is dropped.
 *  4. A field key (the attribute's or its `<key>__<type>`) needs a place in the column budget
 *     (column-budget.ts); without one the value goes into the overflow field instead, under the
 *     attribute's key (no `__<type>`: a JSON value carries its own type).
 */
export class FieldTypeRegistry {
  private readonly byMeasurement = new Map<string, Map<string, FieldType>>();
  private conflictCount = 0;
  private mutations = 0;
  /** While journaling: the keys registered since `journal()` (map, key, map, key, …), to forget on `undo()`. */
  private readonly journaled: Array<Map<string, FieldType> | string> = [];
  private journaling = false;

  constructor(
    private readonly onConflict: (measurement: string, key: string, type: FieldType) => void = () => {},
    private readonly maxKeysPerMeasurement = 10_000,
    /** Rule 4; unlimited by default (the embedded store keeps attributes in one JSON column). */
    readonly budget: ColumnBudget = UNLIMITED,
    private readonly onOverflow: (measurement: string, attributes: number) => void = () => {},
  ) {}

  /** Records a type the database already has (e.g. from `SHOW FIELD KEYS`). */
  seed(measurement: string, key: string, type: FieldType): void {
    this.fields(measurement).set(key, type);
    this.mutations++;
  }

  /** The field key under which a value of `type` may be written; undefined: into the overflow field (rule 4). */
  resolve(measurement: string, key: string, type: FieldType): string | undefined {
    const r = this.resolveQuietly(measurement, key, type);
    if (r === undefined) return undefined;
    if (r.conflict) this.noteConflict(measurement, key, type);
    return r.key;
  }

  /**
   * `resolve` without counting a conflict: the fused encoder counts them only once its request is
   * taken, because a request it hands back to the reference path is resolved (and counted) again.
   */
  resolveQuietly(measurement: string, key: string, type: FieldType): { readonly key: string; readonly conflict: boolean } | undefined {
    const fields = this.fields(measurement);
    const known = fields.get(key);
    if (known === type) return this.budget.admits(measurement, key, type) ? { key, conflict: false } : undefined;
    if (known === undefined) {
      if (fields.size < this.maxKeysPerMeasurement) {
        fields.set(key, type);
        this.mutations++;
        if (this.journaling) this.journaled.push(fields, key);
      }
      return this.budget.admits(measurement, key, type) ? { key, conflict: false } : undefined;
    }
    // `<key>__<type>` may itself be taken by another type (an attribute can be named that way).
    let alt = `${key}__${type}`;
    for (let held = fields.get(alt); held !== undefined && held !== type; held = fields.get(alt)) alt += `__${type}`;
    if (!fields.has(alt) && fields.size < this.maxKeysPerMeasurement) {
      fields.set(alt, type);
      this.mutations++;
      if (this.journaling) this.journaled.push(fields, alt);
    }
    return this.budget.admits(measurement, alt, type) ? { key: alt, conflict: true } : undefined;
  }

  /** Counts attributes written into the overflow field (the fused encoder: once its request is taken). */
  noteOverflow(measurement: string, attributes: number): void {
    this.onOverflow(measurement, attributes);
  }

  /**
   * From now on, remember the keys `resolveQuietly` registers, until `commit` or `undo`. The fused
   * encoders resolve as they go: a request they hand back must leave no registration behind, or
   * the reference path, resolving it again, could meet its own keys at another type.
   */
  journal(): void {
    this.journaled.length = 0;
    this.journaling = true;
  }

  /** Keeps what was registered since `journal()`, and stops journaling. */
  commit(): void {
    this.journaled.length = 0;
    this.journaling = false;
  }

  /** Forgets what was registered since `journal()`, and stops journaling. */
  undo(): void {
    const j = this.journaled;
    this.journaling = false;
    if (j.length === 0) return;
    for (let i = j.length - 2; i >= 0; i -= 2) (j[i] as Map<string, FieldType>).delete(j[i + 1] as string);
    j.length = 0;
    this.mutations++;
  }

  noteConflict(measurement: string, key: string, type: FieldType): void {
    this.conflictCount++;
    this.onConflict(measurement, key, type);
  }

  /** True when `key` is registered as `type`: resolving it again returns `key` until `version` changes. */
  holds(measurement: string, key: string, type: FieldType): boolean {
    return this.byMeasurement.get(measurement)?.get(key) === type;
  }

  /** Changes whenever a key's registration or admission changes, so callers may cache what `resolve` returned. */
  get version(): number {
    return this.mutations + this.budget.version;
  }

  get conflicts(): number {
    return this.conflictCount;
  }

  private fields(measurement: string): Map<string, FieldType> {
    let m = this.byMeasurement.get(measurement);
    if (m === undefined) {
      m = new Map();
      this.byMeasurement.set(measurement, m);
    }
    return m;
  }
}

/** Rules 1 and 2 above: an attribute's field value; undefined for what line protocol cannot carry. */
export function attributeField(v: AttrValue): FieldValue | undefined {
  switch (v.type) {
    case 'int':
      return { type: 'float', value: Number(v.value) };
    case 'double':
      return Number.isFinite(v.value) ? { type: 'float', value: v.value } : undefined;
    case 'bool':
      return { type: 'boolean', value: v.value };
    default:
      return { type: 'string', value: v.value };
  }
}

/**
 * Appends attributes as typed fields of `measurement`. A name the measurement writes itself (a tag,
 * a field, `time`, the overflow field) gets RENAME_PREFIX until it is neither reserved nor another
 * attribute's own key, so an attribute `name` and one literally called `attr_name` both keep their
 * values; rule 3 then fixes each key's type, and rule 4 sends what has no column into one overflow
 * field, after the others.
 */
export function appendAttributeFields(
  fields: Array<readonly [string, FieldValue]>,
  measurement: string,
  attributes: ReadonlyMap<string, AttrValue>,
  reserved: ReadonlySet<string>,
  registry: FieldTypeRegistry,
): void {
  let overflow: Array<readonly [string, FieldValue]> | undefined;
  for (const [key, v] of attributes) {
    let name = key;
    if (reserved.has(name)) do name = `${RENAME_PREFIX}${name}`; while (attributes.has(name) || reserved.has(name));
    const fv = attributeField(v);
    if (fv === undefined) continue;
    const column = registry.resolve(measurement, name, fv.type);
    if (column !== undefined) fields.push([column, fv]);
    else (overflow ??= []).push([name, fv]);
  }
  if (overflow === undefined) return;
  registry.noteOverflow(measurement, overflow.length);
  fields.push([OVERFLOW_FIELD, { type: 'string', value: encodeOverflow(overflow) }]);
}
