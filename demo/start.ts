/**
 * `npm start`: builds what is needed, then runs the whole demo stack on this machine:
 * the gateway on the embedded store (no InfluxDB needed) with the console at /console/, the demo
 * backend and the web app, behind an OpenTelemetry-instrumented ingress (demo/ingress.cjs) whose
 * spans start each API call's trace.
 * Ctrl-C stops everything cleanly.
 *
 * Environment: GATEWAY_PORT (4318), GATEWAY_GRPC_PORT (4317), DEMO_PORT (5173), DATA_DIR (./data), HOST (127.0.0.1), and any
 * ALERT_* variable of the gateway. Alerts are tuned to fire within a minute or two of
 * `npm run demo:traffic -- --regress globex` (production defaults are 1 min / 5 min windows).
 * The JWT secret and operator token below are demo values, printed on purpose; never reuse them.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoBackend } from './backend/server.ts';
import { buildDemo } from './build.ts';
import { startIngress } from './ingress.ts';

export const DEMO_JWT_SECRET = process.env.DEMO_JWT_SECRET ?? 'tenantlens-demo-secret-not-for-production-use';
export const DEMO_ADMIN_TOKEN = process.env.DEMO_ADMIN_TOKEN ?? 'tenantlens-demo-operator-token-not-for-production';
/** The ingress's infrastructure credential (INFRA_TOKEN, docs/ingress-spans.md). */
export const DEMO_INFRA_TOKEN = process.env.DEMO_INFRA_TOKEN ?? 'tenantlens-demo-ingress-token-not-for-production';

const root = fileURLToPath(new URL('..', import.meta.url));
const host = process.env.HOST ?? '127.0.0.1';
const gatewayPort = Number(process.env.GATEWAY_PORT ?? 4318);
const gatewayGrpcPort = Number(process.env.GATEWAY_GRPC_PORT ?? 4317);
const demoPort = Number(process.env.DEMO_PORT ?? 5173);
const dataDir = resolve(process.env.DATA_DIR ?? join(root, 'data'));

/**
 * The console, signed in as the demo operator: the token rides in the fragment (never sent to a
 * server), and the console moves it to sessionStorage and out of the history on first load.
 */
export function consoleUrl(gatewayUrl: string, token = DEMO_ADMIN_TOKEN): string {
  return `${gatewayUrl}/console/#token=${encodeURIComponent(token)}`;
}

async function main(): Promise<void> {
  const staticDir = await buildDemo();
  const gateway = spawn(process.execPath, ['--import', 'tsx', join(root, 'gateway', 'src', 'main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      PORT: String(gatewayPort),
      HOST: host,
      DATA_DIR: dataDir,
      TENANT_AUTH: 'jwt',
      JWT_SECRET: DEMO_JWT_SECRET,
      ADMIN_TOKEN: DEMO_ADMIN_TOKEN,
      GRPC_PORT: String(gatewayGrpcPort),
      INFRA_TOKEN: DEMO_INFRA_TOKEN,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      // Short windows so a demo regression fires quickly: evaluate every 5 s, compare 15 s
      // windows with the median of the previous 8 (2 are enough to start), 5 samples minimum.
      // Only the single demo process evaluates (embedded store), so ALERTS stays on.
      ALERT_INTERVAL: process.env.ALERT_INTERVAL ?? '5s',
      ALERT_WINDOW: process.env.ALERT_WINDOW ?? '15s',
      ALERT_BASELINE_WINDOWS: process.env.ALERT_BASELINE_WINDOWS ?? '8',
      ALERT_BASELINE_MIN_WINDOWS: process.env.ALERT_BASELINE_MIN_WINDOWS ?? '2',
      ALERT_MIN_SAMPLES: process.env.ALERT_MIN_SAMPLES ?? '5',
      // globex's normal database latency alone spans 250–650 ms: demand +500 ms, not +200.
      ALERT_FLOOR_MS: process.env.ALERT_FLOOR_MS ?? '500',
      // An alert's link opens the console at that tenant and the alert's window.
      ALERT_DASHBOARD_URL: process.env.ALERT_DASHBOARD_URL ?? `http://${host}:${gatewayPort}/console/`,
    },
  });
  const gatewayUrl = `http://${host}:${gatewayPort}`;
  let gatewayExited = false;
  let stopping = false;
  gateway.on('exit', (code) => {
    gatewayExited = true;
    if (!stopping) {
      console.error(`gateway exited (code ${code}); stopping the demo`);
      process.exit(1);
    }
  });
  gateway.stdout?.on('data', (c: Buffer) => process.stdout.write(c));
  // Wait for the gateway before serving the app.
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${gatewayUrl}/healthz`)).ok) break;
    } catch {
      if (i > 200 || gatewayExited) throw new Error('the gateway did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // The browser talks to the ingress; the backend listens behind it on a free port. Each API call's
  // trace then runs browser → ingress → backend → database (docs/ingress-spans.md).
  const backend = await startDemoBackend({
    port: 0,
    host,
    gatewayUrl,
    jwtSecret: DEMO_JWT_SECRET,
    staticDir,
  });
  const ingress = await startIngress({ upstream: backend.url, grpcEndpoint: `http://${host}:${gatewayGrpcPort}`, token: DEMO_INFRA_TOKEN, host, port: demoPort, tracePrefix: '/demo-api/' });

  console.log(`
  Tenantlens demo is running (data: ${dataDir}, embedded store)

    console (operator)    ${consoleUrl(gatewayUrl)}
    web app               ${ingress.url}/           (log in as acme, globex or initech)
    gateway (OTLP/HTTP)   ${gatewayUrl}/v1/traces
    gateway (OTLP/gRPC)   ${host}:${gatewayGrpcPort}   (the ingress exports its spans here)
    drill-down API        ${gatewayUrl}/api/v1/tenants   (Authorization: Bearer ${DEMO_ADMIN_TOKEN})

  Fill the console:       npm run demo:traffic -- --sessions 30
  Make globex regress:    npm run demo:traffic -- --regress globex   (an alert fires, then resolves)
  Alerts API:             ${gatewayUrl}/api/v1/alerts
  Stop:                   Ctrl-C
`);

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping …');
    await ingress.close().catch(() => undefined);
    await backend.close().catch(() => undefined);
    if (!gatewayExited) {
      const exited = new Promise((r) => gateway.once('exit', r));
      gateway.kill('SIGTERM');
      await exited;
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${(err as Error).message}`);
  process.exit(1);
});
