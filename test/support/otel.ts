import { context, trace, SpanKind, type Attributes, type HrTime, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export { SpanKind };

/**
 * A real OpenTelemetry JS SDK pipeline (BasicTracerProvider → SimpleSpanProcessor → the official
 * OTLP/HTTP exporter), as an application would configure it, pointed at the gateway.
 */
export interface OtelClient {
  readonly provider: BasicTracerProvider;
  span(name: string, opts: { kind?: SpanKind; start: HrTime; end: HrTime; attributes?: Attributes; parent?: Span }): Span;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function createOtelClient(opts: {
  encoding: 'protobuf' | 'json';
  url: string;
  serviceName: string;
  headers?: Record<string, string>;
  resource?: Attributes;
}): OtelClient {
  const exporterOpts = { url: `${opts.url}/v1/traces`, headers: opts.headers ?? {} };
  const exporter: SpanExporter = opts.encoding === 'protobuf' ? new ProtoExporter(exporterOpts) : new HttpJsonExporter(exporterOpts);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, ...opts.resource }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('tenantlens-test', '1.0.0');
  return {
    provider,
    span(name, s) {
      const ctx = s.parent === undefined ? context.active() : trace.setSpan(context.active(), s.parent);
      const span = tracer.startSpan(name, { kind: s.kind ?? SpanKind.INTERNAL, startTime: s.start, attributes: s.attributes ?? {} }, ctx);
      span.end(s.end);
      return span;
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** HrTime → exact nanoseconds as a decimal string (what InfluxDB returns with epoch=ns). */
export function hrToNs(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

/** A fixed, recent HrTime (InfluxDB's default retention keeps everything; recent keeps shards few). */
export function hrAt(baseSec: number, offsetNanos: number): HrTime {
  return [baseSec + Math.floor(offsetNanos / 1e9), offsetNanos % 1e9];
}
