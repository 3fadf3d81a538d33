import { TraceLineCore, type TraceLineEncoder, type TraceLineOptions } from './trace-lines/encoder-core.ts';
import { JsonAttributes } from './trace-lines/json-attributes.ts';
import { JsonCursor } from './trace-lines/json-cursor.ts';
import { JsonSpanWalk } from './trace-lines/json-spans.ts';

/**
 * The fused hot path for OTLP/JSON traces (what browsers send) into InfluxDB: JSON bytes straight
 * to line protocol, without JSON.parse's object tree, the span model, `Point`s or `FieldValue`s.
 * It is a second front end to the encoder core the protobuf path drives
 * (trace-lines/encoder-core.ts): it walks the JSON down to each span (trace-lines/json-spans.ts,
 * attributes in trace-lines/json-attributes.ts, scalars in trace-lines/json-scalars.ts) with a
 * validating tokenizer (trace-lines/json-cursor.ts) and hands the core the same positions the
 * protobuf reader does, so every mapping, escaping and limit rule is the one the protobuf path applies.
 *
 * It reads a copy of the request: strings with escapes are decoded in place, and hex ids become
 * their bytes in place, where the core reads them as it reads protobuf bytes.
 *
 * What the reference path (otlp/decode.ts decodeJson → limits → map → encode) would answer in a
 * way this reader does not reproduce is handed back (`undefined`), as the protobuf path does: a
 * span it refuses, a limit, malformed JSON, and on purpose some valid but rare shapes (a member
 * twice or under both its names, an escaped member name, an int64 that is not canonical decimal,
 * a double spelled as a string, an AnyValue with two members). gateway/test/json-trace-lines.test.ts
 * holds the two paths to identical lines and errors.
 */

const EMPTY = Buffer.alloc(0);

/** The JSON front end, or undefined when the mapping needs the reference path for every span. */
export function createJsonTraceLineEncoder(opts: TraceLineOptions): TraceLineEncoder | undefined {
  const core = TraceLineCore.create(opts);
  if (core === undefined) return undefined;
  const cursor = new JsonCursor();
  const attributes = new JsonAttributes(cursor, core.values, core.keys, opts.limits.countLimit, opts.limits.valueLengthLimit);
  const walk = new JsonSpanWalk(cursor, core.values, core.lines, attributes);
  /** The request's copy, reused: decoding writes into it. */
  let work = Buffer.allocUnsafeSlow(64 * 1024);
  return {
    encode(body, tenantId) {
      if (work.length < body.length) work = Buffer.allocUnsafeSlow(Math.max(body.length, 2 * work.length));
      work.set(body, 0);
      core.begin(work, tenantId);
      cursor.reset(work, body.length);
      try {
        walk.request();
      } catch {
        // HAND_BACK, malformed JSON, or anything unforeseen: the reference path answers it.
        core.abandon();
        cursor.reset(EMPTY, 0);
        return undefined;
      }
      cursor.reset(EMPTY, 0);
      return core.finish();
    },
  };
}
