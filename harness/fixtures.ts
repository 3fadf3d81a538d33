import { SpanKind, context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface Fixture {
  readonly protobuf: Uint8Array[];
  readonly json: Uint8Array[];
  readonly spansPerRequest: number;
}

/**
 * Request bodies produced by the official SDK and serializers (what `exporter-trace-otlp-proto`
 * and `-http` put on the wire): `requests` bodies of `spansPerRequest` spans with ~10 attributes
 * each, a mix of browser (view_name), server and internal spans.
 */
export function buildFixtures(requests: number, spansPerRequest: number): Fixture {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-app', 'service.version': '1.4.2', 'deployment.environment': 'prod' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench');
  const protobuf: Uint8Array[] = [];
  const json: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (let r = 0; r < requests; r++) {
    exporter.reset();
    for (let i = 0; i < spansPerRequest; i++) {
      const root = tracer.startSpan('GET /api/orders/:id', {
        kind: SpanKind.SERVER,
        attributes: {
          'http.route': '/api/orders/:id',
          'http.request.method': 'GET',
          'http.response.status_code': 200,
          'url.path': `/api/orders/${r * spansPerRequest + i}`,
          'session.id': `sess-${r % 50}`,
          'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126',
          'server.address': 'api.example.com',
          'db.rows': i,
          'cache.hit': i % 2 === 0,
          'net.peer.port': 443,
        },
      });
      const kind = i % 3;
      if (kind === 0) {
        const ctx = trace.setSpan(context.active(), root);
        tracer
          .startSpan(
            'mobx.action loadOrders',
            {
              attributes: {
                view_name: 'OrdersPage',
                action_name: 'loadOrders',
                element_count: 120 + i,
                'session.id': `sess-${r % 50}`,
                'mobx.kind': 'action',
                'app.version': '2.3.0',
                'ui.frame_ms': 16.7,
                'ui.long_task': false,
                'route.params': ['id', 'tab'],
                'page.url': 'https://app.example.com/orders?tab=open',
              },
            },
            ctx,
          )
          .end();
      }
      root.end();
      if (exporter.getFinishedSpans().length >= spansPerRequest) break;
    }
    const spans: ReadableSpan[] = exporter.getFinishedSpans().slice(0, spansPerRequest);
    protobuf.push(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    json.push(enc.encode(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans) as Uint8Array)));
  }
  return { protobuf, json, spansPerRequest };
}

export interface Shape {
  readonly requests: number;
  readonly spansPerRequest: number;
  /** Attributes per span, session.id, http.route and http.request.method included. */
  readonly attributes: number;
  /** Distinct session.id values, cycled over the spans. */
  readonly sessions: number;
}

/**
 * Server spans of a chosen shape, for the cost-growth bench: how cost per span moves with batch
 * size, attribute count and session cardinality. Attributes mix strings, ints, doubles and bools
 * like real instrumentation; the official serializer writes the bodies.
 */
export function buildShapedFixtures(shape: Shape): Fixture {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-app', 'service.version': '1.4.2' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench');
  const protobuf: Uint8Array[] = [];
  const json: Uint8Array[] = [];
  let n = 0;
  for (let r = 0; r < shape.requests; r++) {
    exporter.reset();
    for (let i = 0; i < shape.spansPerRequest; i++, n++) {
      const attributes: Record<string, string | number | boolean> = { 'session.id': `sess-${n % shape.sessions}`, 'http.route': '/api/orders/:id', 'http.request.method': 'GET' };
      for (let a = 0; Object.keys(attributes).length < shape.attributes; a++) {
        const v = a % 4 === 0 ? `value-${a}-${n % 97}` : a % 4 === 1 ? n + a : a % 4 === 2 ? (n % 1000) / 7 : n % 2 === 0;
        attributes[`app.attr_${a}`] = v;
      }
      tracer.startSpan('GET /api/orders/:id', { kind: SpanKind.SERVER, attributes }).end();
    }
    const spans = exporter.getFinishedSpans();
    protobuf.push(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    json.push(new TextEncoder().encode(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans) as Uint8Array)));
  }
  return { protobuf, json, spansPerRequest: shape.spansPerRequest };
}
