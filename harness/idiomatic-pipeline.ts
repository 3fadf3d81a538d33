import { Point } from '@influxdata/influxdb-client';
import { FieldTypeRegistry } from '../gateway/src/mapping/field-types.ts';
import { createSpanMapper } from '../gateway/src/mapping/map-spans.ts';
import { DEFAULT_RULES } from '../gateway/src/mapping/rules.ts';
import { decodeTraceRequest, decodeTraceRequestWithProtobufjs, type OtlpEncoding } from '../gateway/src/otlp/decode.ts';
import type { Point as MappedPoint } from '../gateway/src/schema/point.ts';

/**
 * The IDIOMATIC baseline's pipeline (issue 17 §4): how most people would turn an OTLP trace
 * export into InfluxDB points. Decode the ordinary way (the generated protobufjs code of
 * `@opentelemetry/otlp-transformer` for protobuf; `JSON.parse` and a walk over its output for
 * JSON), map with the project's own reference mapping (`createSpanMapper` with the default rules),
 * so that the measurements, tags, fields and types are ours by construction, and hand each row to
 * the official client as a `Point`. `test/pipeline-equivalence.test.ts` holds its lines to ours.
 *
 * Reusing our mapper is the conservative choice: a hand-written mapping would likely be no
 * cheaper, and it could drift from the data model.
 */
export type IdiomaticPipeline = (body: Uint8Array, encoding: OtlpEncoding, tenantId: string) => Point[];

/** One official-client `Point` for one of our mapped rows; the timestamp stays a decimal string of nanoseconds. */
export function toClientPoint(p: MappedPoint): Point {
  const out = new Point(p.measurement);
  for (const [k, v] of p.tags) out.tag(k, v);
  for (const [k, f] of p.fields) {
    if (f.type === 'integer') out.intField(k, f.value);
    else if (f.type === 'float') out.floatField(k, f.value);
    else if (f.type === 'boolean') out.booleanField(k, f.value);
    else out.stringField(k, f.value);
  }
  return out.timestamp(p.timestamp.toString());
}

export function createIdiomaticPipeline(instanceName = 'idiomatic'): IdiomaticPipeline {
  const mapper = createSpanMapper(DEFAULT_RULES, new FieldTypeRegistry());
  return (body, encoding, tenantId) => {
    const req = encoding === 'protobuf' ? decodeTraceRequestWithProtobufjs(body) : decodeTraceRequest(body, encoding);
    return mapper.map(req, { tenantId, instanceName }).points.map((m) => toClientPoint(m.point));
  };
}
