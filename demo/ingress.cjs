'use strict';
/**
 * The demo's ingress, and the real OpenTelemetry-instrumented ingress of the infrastructure-span
 * tests, standing in for Caddy's `tracing` (Debian's caddy 2.6.2 is built without it): a reverse
 * proxy on node:http, traced by @opentelemetry/instrumentation-http (a SERVER span per request, a
 * CLIENT span per upstream call, `traceparent` continued from the client and injected upstream),
 * exporting over OTLP/gRPC with the exporter configured only by OTEL_EXPORTER_OTLP_* (endpoint and
 * the infrastructure credential, docs/ingress-spans.md).
 *
 * CommonJS on purpose: the instrumentation patches `http` through require hooks.
 * Env: UPSTREAM (http://host:port); PORT (default 0) and HOST (default 127.0.0.1); TRACE_PREFIX:
 * only requests whose path starts with it are traced (default: all). Prints
 * {"msg":"listening","port":N} once ready; on SIGTERM it flushes its spans and exits.
 */
const { NodeTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'ingress' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter())],
});
provider.register();
const tracePrefix = process.env.TRACE_PREFIX ?? '';
registerInstrumentations({
  instrumentations: [
    new HttpInstrumentation({
      // Static assets are not worth a span; the upstream calls of untraced requests get none either.
      ignoreIncomingRequestHook: (req) => !(req.url ?? '').startsWith(tracePrefix),
      requireParentforOutgoingSpans: true,
    }),
  ],
});

// Required after the instrumentation is registered, so the patched module is the one used.
const http = require('node:http');
const upstream = new URL(process.env.UPSTREAM);

const server = http.createServer((req, res) => {
  const proxied = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  proxied.on('error', () => {
    res.writeHead(502).end();
  });
  req.pipe(proxied);
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});

process.on('SIGTERM', () => {
  server.close();
  provider.shutdown().finally(() => process.exit(0));
});
