import type { FieldType, FieldValue } from '../../schema/point.ts';
import { asInteger } from '../../mapping/map-spans.ts';
import type { AttributeLimits } from '../../otlp/limits.ts';
import { readJsonMember } from '../../otlp/proto-traces.ts';
import type { Reader } from '../../otlp/wire.ts';
import { SLOT_COUNT } from '../../schema/attributes.ts';
import type { AttributeKeys, Canon } from './attribute-keys.ts';
import { HAND_BACK } from './hand-back.ts';

/**
 * The attribute values of the span being encoded, kept as positions in the request rather than
 * strings: what map-spans.ts `scan` builds (the known attributes' slots, the rest as fields in
 * first-seen order with their last value), in typed arrays reused for every span.
 *
 * The resource's values come first and are kept for its whole ResourceSpans; each span restores
 * them (`startSpan`) and adds its own, so a span attribute of the same name wins.
 */

// Protobuf tags of AnyValue and KeyValue (common/v1). Module-local: the switches below run per value.
const ANY_STRING = (1 << 3) | 2;
const ANY_BOOL = (2 << 3) | 0;
const ANY_INT = (3 << 3) | 0;
const ANY_DOUBLE = (4 << 3) | 1;
const ANY_ARRAY = (5 << 3) | 2;
const ANY_KVLIST = (6 << 3) | 2;
const ANY_BYTES = (7 << 3) | 2;
const KV_KEY = (1 << 3) | 2;
const KV_VALUE = (2 << 3) | 2;

// AnyValue kinds, as the model's AttrValue types.
export const V_STRING = 0;
export const V_BOOL = 1;
export const V_INT = 2;
export const V_DOUBLE = 3;
/** Arrays, kvlists and bytes: JSON text (in `text`), like the reference decoder makes them. */
export const V_JSON = 4;
/** The kinds together, for a front end to copy into module-local constants. */
export const VALUE_KINDS = Object.freeze({ V_STRING, V_BOOL, V_INT, V_DOUBLE, V_JSON });

/** The `spans` field type of each kind (field-types.ts rules 1 and 2). */
export const FIELD_TYPES: readonly FieldType[] = ['string', 'boolean', 'float', 'float', 'string'];

/** Keys longer than this are dropped (and counted) by the limits: the reference path's job. */
const MAX_KEY_BYTES = 1024;

export class SpanValues {
  /** The request (set per request): string values are [start, end) in it. */
  src: Buffer = Buffer.alloc(0);
  readonly type: Uint8Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly num: Float64Array;
  readonly text: string[];
  private count = 0;

  /** Known attributes (schema/attributes.ts SLOT): value indexes, -1 for none. */
  readonly known = new Int32Array(SLOT_COUNT);
  /** Attributes that become `spans` fields, in first-seen order, each with its last value. */
  readonly restKeys: Canon[] = [];
  readonly restVal: Int32Array;
  restLen = 0;
  /** Tells one span's field list from the next (Canon.stamp). */
  private stamp = 0;

  // The resource's share of the above, restored for every span of its ResourceSpans.
  private resCount = 0;
  private readonly resKnown = new Int32Array(SLOT_COUNT);
  private readonly resRestKeys: Canon[] = [];
  private readonly resRestVal: Int32Array;
  private resRestLen = 0;

  constructor(
    private readonly keys: AttributeKeys,
    private readonly limits: AttributeLimits,
  ) {
    // Resource values first (countLimit at most), then the span's own.
    const max = 2 * limits.countLimit + 2;
    this.type = new Uint8Array(max);
    this.start = new Int32Array(max);
    this.end = new Int32Array(max);
    this.num = new Float64Array(max);
    this.text = new Array<string>(max).fill('');
    this.restVal = new Int32Array(max);
    this.resRestVal = new Int32Array(max);
  }

  /** Before a resource's attributes. */
  startResource(): void {
    this.stamp++;
    this.count = 0;
    this.restLen = 0;
    this.known.fill(-1);
  }

  /** After them: what every span of the resource starts from. */
  endResource(): void {
    this.resCount = this.count;
    this.resRestLen = this.restLen;
    for (let j = 0; j < this.restLen; j++) {
      this.resRestKeys[j] = this.restKeys[j] as Canon;
      this.resRestVal[j] = this.restVal[j] as number;
    }
    this.resKnown.set(this.known);
  }

  /** Before a span's attributes: the resource's values, restored. */
  startSpan(): void {
    const stamp = ++this.stamp;
    this.count = this.resCount;
    this.restLen = this.resRestLen;
    for (let j = 0; j < this.resRestLen; j++) {
      const c = this.resRestKeys[j] as Canon;
      c.stamp = stamp;
      c.restIndex = j;
      this.restKeys[j] = c;
      this.restVal[j] = this.resRestVal[j] as number;
    }
    this.known.set(this.resKnown);
  }

  /** True for no value (-1) and the empty string: what the reference path's `asText(…) === ''` asks. */
  emptyText(i: number): boolean {
    return i === -1 || (this.type[i] === V_STRING && this.start[i] === this.end[i]);
  }

  /** `asText` of a value that is not a string (strings are copied as bytes). */
  otherText(i: number): string {
    switch (this.type[i]) {
      case V_BOOL:
        return this.num[i] === 1 ? 'true' : 'false';
      case V_INT:
      case V_JSON:
        return this.text[i] as string;
      default:
        return String(this.num[i]);
    }
  }

  /** Value `i` as field-types.ts `attributeField` types it, for the overflow field (non-finite doubles never get here). */
  fieldValue(i: number): FieldValue {
    switch (this.type[i]) {
      case V_STRING:
        return { type: 'string', value: this.src.toString('utf8', this.start[i], this.end[i]) };
      case V_BOOL:
        return { type: 'boolean', value: this.num[i] === 1 };
      case V_INT:
        return { type: 'float', value: Number(this.text[i]) };
      case V_JSON:
        return { type: 'string', value: this.text[i] as string };
      default:
        return { type: 'float', value: this.num[i] as number };
    }
  }

  /** `element_count` (map-spans.ts `asInteger`), or undefined when it is not an integer InfluxDB can hold. */
  integerText(i: number): string | undefined {
    switch (this.type[i]) {
      case V_INT:
        return this.text[i];
      case V_BOOL:
      case V_JSON:
        return undefined;
      case V_DOUBLE:
        return asInteger({ type: 'double', value: this.num[i] as number })?.toString();
      default:
        return asInteger({ type: 'string', value: this.src.toString('utf8', this.start[i], this.end[i]) })?.toString();
    }
  }

  /** A KeyValue in [r.pos, end): what map-spans.ts `scan` does with one attribute. */
  readAttribute(r: Reader, end: number): void {
    const outer = r.end;
    r.end = end;
    let keyStart = 0;
    let keyEnd = 0;
    const i = this.slot();
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === KV_KEY) {
        keyStart = r.span();
        keyEnd = r.pos;
      } else if (tag === KV_VALUE) {
        const s = r.span();
        const e = r.pos;
        r.pos = s;
        this.readValue(r, e, i);
      } else r.skip(tag & 7);
    }
    r.end = outer;
    this.keyed(keyStart, keyEnd, i);
  }

  /** A value slot for the next attribute, the empty string until a front end sets it (`type`, `start`, …). */
  slot(): number {
    const i = this.count++;
    this.type[i] = V_STRING;
    this.start[i] = 0;
    this.end[i] = 0;
    return i;
  }

  /**
   * The attribute whose key is src[keyStart, keyEnd) and whose value is slot `i`: what map-spans.ts
   * `scan` does with it. Its key's Canon is returned (`keys.lastKept` says whether it may be kept).
   */
  keyed(keyStart: number, keyEnd: number, i: number): Canon {
    if (keyEnd - keyStart > MAX_KEY_BYTES) throw HAND_BACK;
    const c = this.keys.at(this.src, keyStart, keyEnd);
    this.keyedAs(c, i);
    return c;
  }

  /** `keyed` for a key whose Canon the front end already knows (the same bytes found it before). */
  keyedAs(c: Canon, i: number): void {
    if (c.dropped) return;
    const slot = c.slot;
    if (slot !== -1) {
      if (!c.fallback || this.emptyText(this.known[slot] as number)) this.known[slot] = i;
      if (!c.field) return;
    }
    if (c.reserved) throw HAND_BACK;
    this.restSet(c, i);
  }

  /** Reads an AnyValue in [r.pos, end) into value slot `i`; the last member of the oneof wins. */
  private readValue(r: Reader, end: number, i: number): void {
    const outer = r.end;
    r.end = end;
    this.type[i] = V_STRING;
    this.start[i] = 0;
    this.end[i] = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      switch (tag) {
        case ANY_STRING: {
          const s = r.span();
          if (r.pos - s > this.limits.valueLengthLimit) throw HAND_BACK;
          this.type[i] = V_STRING;
          this.start[i] = s;
          this.end[i] = r.pos;
          break;
        }
        case ANY_BOOL:
          this.type[i] = V_BOOL;
          this.num[i] = r.uint32() !== 0 ? 1 : 0;
          break;
        case ANY_INT:
          this.type[i] = V_INT;
          this.text[i] = r.int64Decimal();
          break;
        case ANY_DOUBLE:
          this.type[i] = V_DOUBLE;
          this.num[i] = r.double();
          break;
        case ANY_ARRAY:
        case ANY_KVLIST:
        case ANY_BYTES: {
          const json = readJsonMember(r, tag >>> 3);
          // The limits would truncate strings inside it: the reference path's job.
          if (json.length > this.limits.valueLengthLimit) throw HAND_BACK;
          this.type[i] = V_JSON;
          this.text[i] = json;
          break;
        }
        default:
          r.skip(tag & 7);
      }
    }
    r.end = outer;
  }

  private restSet(c: Canon, i: number): void {
    if (c.stamp === this.stamp) {
      this.restVal[c.restIndex] = i;
      return;
    }
    c.stamp = this.stamp;
    c.restIndex = this.restLen;
    this.restKeys[this.restLen] = c;
    this.restVal[this.restLen++] = i;
  }
}
