/**
 * The demo backend's OpenTelemetry setup: the Node SDK with http and express instrumentation,
 * exporting OTLP/protobuf to the Tenantlens gateway.
 *
 * The backend serves every tenant, but the gateway takes the tenant from the credential, never
 * from span attributes. So spans are routed per trace: the request middleware records which tenant
 * a trace belongs to, and each tenant's spans leave through an exporter holding that tenant's
 * token. This is the pattern a real multi-tenant backend would use.
 */
import { context, trace, type Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface BackendTelemetry {
  /** Marks the current trace as belonging to `tenant` (call once the request is authenticated). */
  setTenant(tenant: string): void;
  shutdown(): Promise<void>;
}

/** Routes each finished span to its tenant's exporter, by trace id. */
class TenantRoutingProcessor implements SpanProcessor {
  private readonly tenantOfTrace = new Map<string, string>();
  private readonly perTenant = new Map<string, SpanProcessor>();
  constructor(private readonly create: (tenant: string) => SpanProcessor) {}

  assign(traceId: string, tenant: string): void {
    // Bounded: old traces are forgotten first.
    if (this.tenantOfTrace.size > 10_000) this.tenantOfTrace.delete(this.tenantOfTrace.keys().next().value as string);
    this.tenantOfTrace.set(traceId, tenant);
  }
  onStart(_span: Span, _ctx: Context): void {}
  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    const tenant = this.tenantOfTrace.get(traceId);
    if (tenant === undefined) return; // unauthenticated requests (login, static files) are not telemetry
    let p = this.perTenant.get(tenant);
    if (p === undefined) {
      p = this.create(tenant);
      this.perTenant.set(tenant, p);
    }
    // The mapping is kept (bounded, oldest evicted): some spans of a trace end after its root,
    // e.g. express's request-handler span ends after the http server span.
    p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all([...this.perTenant.values()].map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all([...this.perTenant.values()].map((p) => p.shutdown()));
  }
}

export function startTelemetry(opts: { gatewayUrl: string; serviceName: string; tokenFor: (tenant: string) => Promise<string> }): BackendTelemetry {
  const router = new TenantRoutingProcessor(
    (tenant) =>
      new BatchSpanProcessor(
        new OTLPTraceExporter({
          url: `${opts.gatewayUrl}/v1/traces`,
          // A function, so the token is minted (and refreshed) per export.
          headers: async () => ({ Authorization: `Bearer ${await opts.tokenFor(tenant)}` }),
        }) ,
        { scheduledDelayMillis: 1000 },
      ),
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'deployment.environment': 'demo' }),
    spanProcessors: [router],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Only the API is telemetry; the OTLP/drill-down forwarding and static files are plumbing.
        ignoreIncomingRequestHook: (req) => !(req.url ?? '').startsWith('/demo-api/') || (req.url ?? '').startsWith('/demo-api/login'),
        ignoreOutgoingRequestHook: () => true,
      }),
      new ExpressInstrumentation(),
    ],
  });
  return {
    setTenant(tenant) {
      const span = trace.getSpan(context.active());
      if (span !== undefined) router.assign(span.spanContext().traceId, tenant);
    },
    shutdown: () => provider.shutdown(),
  };
}
