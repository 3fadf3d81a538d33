import type { TimestampSlots } from '../influx/point-identity.ts';
import type { FieldTypeRegistry } from '../mapping/field-types.ts';
import type { MappingRules } from '../mapping/rules.ts';
import type { AttributeLimits } from '../otlp/limits.ts';
import { forEachField, lastField, Reader } from '../otlp/wire.ts';
import { AttributeKeys } from './trace-lines/attribute-keys.ts';
import { HAND_BACK } from './trace-lines/hand-back.ts';
import { LineBuffer, splitLines } from './trace-lines/line-buffer.ts';
import { SpanLines, type ScopeName } from './trace-lines/span-lines.ts';
import { SpanValues } from './trace-lines/span-values.ts';

/**
 * The fused hot path for OTLP/protobuf traces into InfluxDB: protobuf bytes straight to line
 * protocol, without the span model, `Point`s or `FieldValue`s in between (the profile of the
 * reference path was GC, per-value escaping and string building: issue 6).
 *
 * It handles the common request exactly as the reference path (decode → limit → map → encode)
 * would, byte for byte, and hands anything else back (`undefined`): a span the reference path
 * would refuse, an attribute over a limit, a reserved attribute name, malformed protobuf. The
 * reference path then decodes the request again and answers it, so every rule (partial success,
 * limits, error messages) lives in one place. gateway/test/fused-trace-lines.test.ts holds the two
 * paths to identical lines on fixtures, edge cases and fuzzed bodies.
 *
 * The parts, each with its own state:
 * - otlp/wire.ts walks the protobuf (this file: the containers down to each span);
 * - trace-lines/attribute-keys.ts finds an attribute key by its bytes, with its role in the mapping
 *   (schema/attributes.ts) and its resolved field key;
 * - trace-lines/span-values.ts keeps the attribute values of the current span as positions;
 * - trace-lines/span-fields.ts reads a span's own fields; trace-lines/span-lines.ts assembles its
 *   lines; trace-lines/line-buffer.ts emits the bytes;
 * - influx/timestamps.ts converts and spreads the start time, as for the reference path.
 */
export interface FusedTraceLines {
  readonly spans: number;
  /** The lines joined by newlines (no trailing one), UTF-8: what a write body holds. */
  readonly body: Buffer;
  readonly count: number;
  /** The lines one by one, for the spool (it frames each line). */
  lines(): string[];
}

export interface ProtoTraceLineEncoder {
  /** The request's lines with their timestamps assigned, or undefined: use the reference path. */
  encode(body: Buffer, tenantId: string): FusedTraceLines | undefined;
}

export interface ProtoTraceLineOptions {
  readonly rules: MappingRules;
  readonly fieldTypes: FieldTypeRegistry;
  readonly slots: TimestampSlots;
  readonly instanceName: string;
  readonly limits: AttributeLimits;
}

// Field numbers of the containers (collector/trace/v1, trace/v1, resource/v1, common/v1).
const REQUEST_RESOURCE_SPANS = 1;
const RESOURCE_SPANS_RESOURCE = 1;
const RESOURCE_SPANS_SCOPE_SPANS = 2;
const RESOURCE_ATTRIBUTES = 1;
const SCOPE_SPANS_SCOPE = 1;
const SCOPE_SPANS_SPANS = 2;
const SCOPE_NAME = 1;

/** What the encoder holds between requests instead of the last request's bytes. */
const NOTHING = Buffer.alloc(0);

/** The fused encoder, or undefined when the mapping needs the reference path for every span. */
export function createProtoTraceLineEncoder(opts: ProtoTraceLineOptions): ProtoTraceLineEncoder | undefined {
  const { rules, fieldTypes, limits } = opts;
  // MAPPING_FILE extra tags change each line's tag set per span: the reference path does that.
  if (rules.frontend.extraTags.length + rules.backend.extraTags.length + rules.spans.extraTags.length > 0) return undefined;
  const keys = new AttributeKeys(rules.aliases, fieldTypes, rules.spans.name);
  const out = new LineBuffer();
  const values = new SpanValues(keys, limits);
  const lines = new SpanLines(opts, out, values, keys);

  function resource(r: Reader, start: number, end: number): void {
    values.startResource();
    let attributes = 0;
    forEachField(r, start, end, RESOURCE_ATTRIBUTES, (_, e) => {
      if (++attributes > limits.countLimit) throw HAND_BACK;
      values.readAttribute(r, e);
    });
    values.endResource();
  }

  function scopeSpans(r: Reader, start: number, end: number): void {
    // The scope may follow its spans on the wire; the reference path applies the last one to all.
    const scope = lastField(r, start, end, SCOPE_SPANS_SCOPE);
    const name = scope === undefined ? undefined : lastField(r, scope[0], scope[1], SCOPE_NAME);
    const scopeName: ScopeName = { start: name?.[0] ?? 0, end: name?.[1] ?? 0 };
    forEachField(r, start, end, SCOPE_SPANS_SPANS, (_, e) => lines.span(r, e, scopeName));
  }

  function resourceSpans(r: Reader, start: number, end: number): void {
    const res = lastField(r, start, end, RESOURCE_SPANS_RESOURCE);
    if (res === undefined) resource(r, 0, 0);
    else resource(r, res[0], res[1]);
    forEachField(r, start, end, RESOURCE_SPANS_SCOPE_SPANS, (s, e) => scopeSpans(r, s, e));
  }

  return {
    encode(body, tenantId) {
      keys.startRequest();
      out.start(body);
      values.src = body;
      lines.startRequest(tenantId);
      const r = new Reader(body, body.length);
      try {
        forEachField(r, 0, body.length, REQUEST_RESOURCE_SPANS, (s, e) => resourceSpans(r, s, e));
      } catch {
        // HAND_BACK, malformed protobuf, or anything unforeseen: the reference path answers it.
        out.abandon();
        values.src = NOTHING;
        return undefined;
      }
      values.src = NOTHING;
      const taken = out.finish();
      for (const [key, type] of lines.conflicts) fieldTypes.noteConflict(rules.spans.name, key, type);
      if (lines.overflowed > 0) fieldTypes.noteOverflow(rules.spans.name, lines.overflowed);
      const ends = out.lineEnds;
      return { spans: lines.spans, body: taken, count: ends.length, lines: () => splitLines(taken, ends) };
    },
  };
}
