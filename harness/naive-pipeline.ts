import { Point } from '@influxdata/influxdb-client';
import { decodeTraceRequest, decodeTraceRequestWithProtobufjs, type OtlpEncoding } from '../gateway/src/otlp/decode.ts';
import type { AttrValue } from '../gateway/src/otlp/model.ts';

/**
 * The baseline: what a straightforward gateway does. The library's protobuf decoder (our JSON
 * decoder: the same walk over JSON.parse output a straightforward gateway writes) and the same data model as
 * ours, but every point is an `@influxdata/influxdb-client` `Point` (tag/field maps, sorted and
 * escaped by the library on `toLineProtocol()`), attributes looked up through an object.
 * It keeps the same tags, fields and types, so the output is comparable line for line.
 */
export function naivePipeline(body: Uint8Array, encoding: OtlpEncoding, tenantId: string): string {
  // The library's decoder (generated protobufjs code), as a straightforward gateway would use.
  const req = encoding === 'protobuf' ? decodeTraceRequestWithProtobufjs(body) : decodeTraceRequest(body, encoding);
  const points: Point[] = [];
  const kinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
  const text = (v: AttrValue | undefined): string => (v === undefined ? '' : String(v.value));
  for (const rs of req.resourceSpans) {
    for (const ss of rs.scopes) {
      for (const span of ss.spans) {
        const attrs: Record<string, AttrValue> = {};
        for (const a of rs.resource) attrs[a.key === 'session.id' ? 'session_id' : a.key] = a.value;
        for (const a of span.attributes) attrs[a.key === 'session.id' ? 'session_id' : a.key] = a.value;
        delete attrs.tenant_id;
        const service = text(attrs['service.name']);
        const session = text(attrs.session_id);
        const ts = span.startTimeUnixNano.toString();
        const durMs = Math.round(Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6);
        if (attrs.view_name !== undefined) {
          const p = new Point('frontend_performance')
            .tag('tenant_id', tenantId)
            .tag('session_id', session)
            .tag('view_name', text(attrs.view_name))
            .tag('action_name', text(attrs.action_name))
            .tag('service_name', service)
            .intField('duration_ms', durMs);
          if (attrs.element_count !== undefined) p.intField('element_count', Math.round(Number(attrs.element_count.value)));
          points.push(p.stringField('trace_id', span.traceId).stringField('span_id', span.spanId).timestamp(ts));
        }
        if (span.kind === 2) {
          points.push(
            new Point('backend_api_latency')
              .tag('tenant_id', tenantId)
              .tag('endpoint', text(attrs['http.route']) || span.name)
              .tag('http_method', text(attrs['http.request.method'] ?? attrs['http.method']))
              .tag('status_code', text(attrs['http.response.status_code'] ?? attrs['http.status_code']))
              .tag('service_name', service)
              .intField('latency_ms', durMs)
              .stringField('trace_id', span.traceId)
              .stringField('span_id', span.spanId)
              .timestamp(ts),
          );
        }
        const p = new Point('spans')
          .tag('tenant_id', tenantId)
          .tag('service_name', service)
          .tag('span_kind', kinds[span.kind] ?? 'unspecified')
          .stringField('trace_id', span.traceId)
          .stringField('span_id', span.spanId)
          .stringField('parent_span_id', span.parentSpanId)
          .stringField('name', span.name)
          .intField('duration_ns', Number(span.endTimeUnixNano - span.startTimeUnixNano))
          .intField('status_code', span.statusCode)
          .stringField('session_id', session);
        for (const [k, v] of Object.entries(attrs)) {
          if (k === 'service.name' || k === 'session_id') continue;
          if (v.type === 'int' || v.type === 'double') p.floatField(k, Number(v.value));
          else if (v.type === 'bool') p.booleanField(k, v.value);
          else p.stringField(k, v.value);
        }
        points.push(p.timestamp(ts));
      }
    }
  }
  return points.map((p) => p.toLineProtocol()).join('\n');
}
