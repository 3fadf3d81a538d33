import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs demo/ingress.cjs, the OpenTelemetry-instrumented reverse proxy that stands in for Caddy's
 * `tracing`: each traced request's trace starts at its span, exported over OTLP/gRPC to the gateway
 * with the infrastructure credential (docs/ingress-spans.md).
 */
export interface IngressOptions {
  /** Where requests go, e.g. http://127.0.0.1:5174. */
  readonly upstream: string;
  /** The gateway's OTLP/gRPC endpoint, e.g. http://127.0.0.1:4317. */
  readonly grpcEndpoint: string;
  /** INFRA_TOKEN of that gateway. */
  readonly token: string;
  readonly host?: string;
  /** 0: a free port. */
  readonly port?: number;
  /** Only paths starting with this are traced (default: all). */
  readonly tracePrefix?: string;
}

export interface Ingress {
  readonly url: string;
  /** SIGTERM: the ingress flushes its spans, then exits. */
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./ingress.cjs', import.meta.url));

export function startIngress(opts: IngressOptions): Promise<Ingress> {
  const child = spawn(process.execPath, [SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      UPSTREAM: opts.upstream,
      HOST: opts.host ?? '127.0.0.1',
      PORT: String(opts.port ?? 0),
      TRACE_PREFIX: opts.tracePrefix ?? '',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: opts.grpcEndpoint,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${opts.token}`,
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /"port":(\d+)/.exec(out);
      if (m === null) return;
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolve({
        url: `http://${opts.host ?? '127.0.0.1'}:${m[1]}`,
        async close() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    child.once('exit', (code) => reject(new Error(`the ingress exited during start-up (code ${String(code)})`)));
  });
}
