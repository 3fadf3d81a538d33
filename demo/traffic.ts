/**
 * `npm run demo:traffic -- --sessions N [--url http://127.0.0.1:5173] [--concurrency 4] [--actions 6]`
 * `npm run demo:traffic -- --regress globex [--warmup 40] [--regress-for 45] [--recover-for 60] [--slow-ms 1500]`
 *
 * With `--regress <tenant>` the run is timed instead of counted: normal traffic for `--warmup`
 * seconds (the alert baseline), then that tenant's report endpoint is slowed by `--slow-ms` (the
 * backend honours an `x-demo-slow-ms` header: real latency in real spans) for `--regress-for`
 * seconds, then normal again for `--recover-for` seconds, so one run shows an alert fire and resolve.
 *
 * Drives realistic sessions for every demo tenant against the running demo (`npm start`), with
 * real OpenTelemetry exporters (fast mode): each session logs in, then performs browser-like
 * actions (view_name, action_name, session.id, element_count) whose spans are parents of real
 * calls to the demo backend, with `traceparent`, so every action is one browser → backend → db trace.
 * Each session also sends the web vitals and errors the web SDK would (OTLP log events).
 */
import { randomUUID } from 'node:crypto';
import { context, defaultTextMapSetter, propagation, trace, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const TENANTS = ['acme', 'globex', 'initech'];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v === undefined || v.startsWith('--') ? def : v;
}

function positive(name: string, def: number): number {
  const v = Number(arg(name, String(def)));
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${name} must be a whole number ≥ 1`);
    process.exit(2);
  }
  return v;
}

const regress = arg('regress', '');
if (regress !== '' && !TENANTS.includes(regress)) {
  console.error(`--regress must be one of ${TENANTS.join(', ')}`);
  process.exit(2);
}
const nonNegative = (name: string, def: number): number => {
  const v = Number(arg(name, String(def)));
  if (!Number.isFinite(v) || v < 0) {
    console.error(`--${name} must be a number ≥ 0`);
    process.exit(2);
  }
  return v;
};
const phases = regress === '' ? undefined : { warmup: nonNegative('warmup', 40) * 1000, regress: nonNegative('regress-for', 45) * 1000, recover: nonNegative('recover-for', 60) * 1000 };
const slowMs = nonNegative('slow-ms', 1500);
const sessions = phases === undefined ? positive('sessions', 20) : Number.MAX_SAFE_INTEGER;
const concurrency = positive('concurrency', 4);
const actions = positive('actions', 6);
const base = arg('url', process.env.DEMO_URL ?? 'http://127.0.0.1:5173').replace(/\/$/, '');
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

let done = 0;
let failed = 0;
let started = Date.now();

function phaseAt(now: number): 'warmup' | 'regress' | 'recover' | 'done' {
  if (phases === undefined) return 'warmup';
  const t = now - started;
  if (t < phases.warmup) return 'warmup';
  if (t < phases.warmup + phases.regress) return 'regress';
  return t < phases.warmup + phases.regress + phases.recover ? 'recover' : 'done';
}

function progress(): void {
  if (phases !== undefined) {
    const t = Math.round((Date.now() - started) / 1000);
    const label = { warmup: 'normal traffic (baseline)', regress: `${regress} /demo-api/report +${slowMs} ms`, recover: 'recovered', done: 'done' }[phaseAt(Date.now())];
    process.stderr.write(`\r${t}s: ${label}; ${done} sessions${failed > 0 ? `, ${failed} failed` : ''}      `);
    return;
  }
  const width = 30;
  const filled = Math.round((done / sessions) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${sessions} sessions${failed > 0 ? `, ${failed} failed` : ''}`);
}

/** Core Web Vitals thresholds (good ≤ first, poor > second), as web-vitals rates them. */
const THRESHOLDS: Record<string, [number, number]> = { LCP: [2500, 4000], INP: [200, 500], CLS: [0.1, 0.25], FCP: [1800, 3000], TTFB: [800, 1800] };

/**
 * What the web SDK sends per page view (`browser.web_vital` events), plus now and then an error
 * burst: OTLP/JSON log records, so `GET /api/v1/vitals` and `/errors` have data. globex loads
 * slower (LCP), initech's Filter view freezes on input (INP), as in the demo app.
 */
function browserEvents(tenant: string, sessionId: string): string {
  const jitter = (base: number, spread: number): number => Math.round(base + Math.random() * spread);
  const values: Record<string, number> = {
    TTFB: jitter(80, 200),
    FCP: jitter(600, 900),
    LCP: jitter(tenant === 'globex' ? 2800 : 1200, 1800),
    CLS: Math.round(Math.random() * 0.15 * 1000) / 1000,
    INP: jitter(tenant === 'initech' ? 320 : 60, 200),
  };
  const view = (metric: string): string => (metric === 'INP' && tenant === 'initech' ? 'FilterView' : 'UserListView');
  const now = BigInt(Date.now()) * 1_000_000n;
  const attr = (key: string, v: string | number) => ({ key, value: typeof v === 'string' ? { stringValue: v } : { doubleValue: v } });
  const records: unknown[] = Object.entries(values).map(([metric, value], i) => {
    const [good, poor] = THRESHOLDS[metric] as [number, number];
    const rating = value <= good ? 'good' : value <= poor ? 'needs-improvement' : 'poor';
    return {
      timeUnixNano: String(now + BigInt(i)),
      eventName: 'browser.web_vital',
      attributes: [attr('browser.web_vital.name', metric), attr('browser.web_vital.value', value), attr('browser.web_vital.rating', rating), attr('browser.web_vital.navigation_type', 'navigate'), attr('view_name', view(metric)), attr('session_id', sessionId)],
    };
  });
  if (Math.random() < 0.3) {
    records.push({
      timeUnixNano: String(now + 10n),
      eventName: 'exception',
      attributes: [attr('exception.type', 'TypeError'), attr('exception.message', "Cannot read properties of undefined (reading 'name')"), attr('exception.stacktrace', "TypeError: Cannot read properties of undefined (reading 'name')\n    at UserRow (app.js:1:2048)"), attr('exception.count', 1 + Math.floor(Math.random() * 5)), attr('view_name', 'UserListView'), attr('session_id', sessionId), attr('action_name', 'fetchUsers')],
    });
  }
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [attr('service.name', 'demo-web')] }, scopeLogs: [{ scope: { name: 'demo-traffic' }, logRecords: records }] }] });
}

async function runSession(index: number): Promise<void> {
  const tenant = TENANTS[index % TENANTS.length] as string;
  const login = await fetch(`${base}/demo-api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant }) });
  if (!login.ok) throw new Error(`login as ${tenant}: HTTP ${login.status}`);
  const { token } = (await login.json()) as { token: string };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'demo-web', 'telemetry.sdk.language': 'webjs' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers: { Authorization: `Bearer ${token}` } }))],
  });
  const tracer = provider.getTracer('demo-traffic');
  const sessionId = randomUUID();
  for (let a = 0; a < actions; a++) {
    const report = a % 3 === 2;
    const [view, action, path] = report ? ['ReportView', 'loadReport', 'report?size=20000'] : ['UserListView', 'fetchUsers', 'users'];
    const span = tracer.startSpan(action, { kind: SpanKind.INTERNAL, attributes: { view_name: view, action_name: action, 'session.id': sessionId, 'mobx.kind': 'transition' } });
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (report && tenant === regress && phaseAt(Date.now()) === 'regress') headers['x-demo-slow-ms'] = String(slowMs);
    propagation.inject(trace.setSpan(context.active(), span), headers, defaultTextMapSetter);
    const res = await fetch(`${base}/demo-api/${path}`, { headers });
    const body = (await res.json()) as { users?: unknown[]; values?: unknown[] };
    // Rendering cost a browser would add after the response.
    await new Promise((r) => setTimeout(r, 5 + Math.random() * (report ? 80 : 20)));
    span.setAttribute('element_count', (body.users ?? body.values ?? []).length);
    span.end();
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
  }
  await provider.shutdown();
  const events = await fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: browserEvents(tenant, sessionId) });
  if (!events.ok) throw new Error(`vitals and errors: HTTP ${events.status}`);
}

async function main(): Promise<void> {
  try {
    await fetch(`${base}/demo-api/login`, { method: 'HEAD' });
  } catch {
    console.error(`cannot reach the demo at ${base}: start it first with \`npm start\` (or pass --url)`);
    process.exit(1);
  }
  started = Date.now();
  let next = 0;
  progress();
  const ticker = phases === undefined ? undefined : setInterval(progress, 1000);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, sessions) }, async () => {
      while (next < sessions && phaseAt(Date.now()) !== 'done') {
        const i = next++;
        try {
          await runSession(i);
        } catch (err) {
          failed++;
          process.stderr.write(`\nsession ${i}: ${(err as Error).message}\n`);
        }
        done++;
        progress();
      }
    }),
  );
  if (ticker !== undefined) clearInterval(ticker);
  const ok = done - failed;
  if (phases !== undefined) process.stderr.write(`\nIn the console (the URL \`npm start\` printed), ${regress}'s tenant page shows its alert firing, then resolved.\n`);
  process.stderr.write(`\n${ok} sessions (${ok * actions} traces) in ${((Date.now() - started) / 1000).toFixed(1)} s. Open the console: the URL \`npm start\` printed (or ${base}/console/)\n`);
  if (failed > 0) process.exit(1);
}

await main();
