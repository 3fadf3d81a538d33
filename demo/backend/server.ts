/**
 * The demo backend: a small multi-tenant API (users, report data) instrumented with the
 * OpenTelemetry Node SDK, which also serves the built web app and forwards `/v1/*` (OTLP) to the
 * gateway, so the browser talks to one origin and `traceparent` flows without CORS. `/console/`
 * redirects to the gateway's console (the drill-down UI lives there, not here).
 *
 * globex's data path is slower on purpose (injected query latency): that is the P99 gap the
 * console should explain.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type Express from 'express';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SignJWT, jwtVerify } from 'jose';
import { startTelemetry } from './telemetry.ts';

export interface DemoBackendOptions {
  readonly port: number;
  readonly host: string;
  readonly gatewayUrl: string;
  readonly jwtSecret: string;
  /** Where `/console/` redirects; default `<gatewayUrl>/console/`. */
  readonly consoleUrl?: string;
  /** The built web app (`demo/web/dist`); absent in API-only tests. */
  readonly staticDir: string | undefined;
}

export const TENANTS = ['acme', 'globex', 'initech'] as const;
/** Extra database latency per tenant, ms [min, max): globex is the slow one. */
export const DB_LATENCY: Record<string, [number, number]> = { acme: [15, 60], globex: [250, 650], initech: [30, 110] };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startDemoBackend(opts: DemoBackendOptions): Promise<{ url: string; close(): Promise<void> }> {
  const key = new TextEncoder().encode(opts.jwtSecret);
  const mint = (tenant: string): Promise<string> => new SignJWT({ tenant_id: tenant }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('2h').sign(key);
  const serverTokens = new Map<string, { token: string; until: number }>();
  const telemetry = startTelemetry({
    gatewayUrl: opts.gatewayUrl,
    serviceName: 'demo-backend',
    async tokenFor(tenant) {
      const hit = serverTokens.get(tenant);
      if (hit !== undefined && hit.until > Date.now()) return hit.token;
      const token = await mint(tenant);
      serverTokens.set(tenant, { token, until: Date.now() + 60 * 60_000 });
      return token;
    },
  });

  // Loaded after telemetry is registered, through require, so the instrumentation can patch it.
  const require = createRequire(import.meta.url);
  const express = require('express') as typeof Express;
  const app = express();
  app.disable('x-powered-by');
  const tracer = trace.getTracer('demo-backend');

  async function tenantOf(req: IncomingMessage): Promise<string> {
    const m = /^Bearer\s+(\S+)$/.exec(req.headers.authorization ?? '');
    if (m === null) throw Object.assign(new Error('log in first'), { status: 401 });
    try {
      const { payload } = await jwtVerify(m[1] as string, key, { algorithms: ['HS256'] });
      return String(payload.tenant_id);
    } catch {
      throw Object.assign(new Error('invalid token'), { status: 401 });
    }
  }

  /** A pretend database call: a CLIENT span with the tenant's latency, plus `extraMs` (an injected regression). */
  async function query<T>(tenant: string, statement: string, rows: () => T, extraMs = 0): Promise<T> {
    return tracer.startActiveSpan(`SELECT ${statement}`, { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.statement': `SELECT * FROM ${statement} WHERE tenant = $1` } }, async (span) => {
      const [lo, hi] = DB_LATENCY[tenant] ?? [20, 80];
      await sleep(lo + Math.random() * (hi - lo) + extraMs);
      const result = rows();
      span.setAttribute('db.rows', Array.isArray(result) ? result.length : 1);
      span.end();
      return result;
    });
  }

  app.post('/demo-api/login', express.json(), async (req, res) => {
    const tenant = String((req.body as { tenant?: unknown } | undefined)?.tenant ?? '');
    if (!(TENANTS as readonly string[]).includes(tenant)) {
      res.status(400).json({ error: `unknown tenant; choose one of ${TENANTS.join(', ')}` });
      return;
    }
    res.json({ tenant, token: await mint(tenant) });
  });

  app.use('/demo-api', async (req, res, next) => {
    try {
      const tenant = await tenantOf(req);
      telemetry.setTenant(tenant);
      res.locals.tenant = tenant;
      next();
    } catch (err) {
      res.status((err as { status?: number }).status ?? 500).json({ error: (err as Error).message });
    }
  });

  app.get('/demo-api/users', async (_req, res) => {
    const tenant = res.locals.tenant as string;
    const count = 20 + Math.floor(Math.random() * 30);
    const users = await query(tenant, 'users', () =>
      Array.from({ length: count }, (_, i) => ({ id: i + 1, name: `${tenant} user ${i + 1}`, email: `user${i + 1}@${tenant}.example` })),
    );
    res.json({ tenant, users });
  });

  app.get('/demo-api/report', async (req, res) => {
    const tenant = res.locals.tenant as string;
    const size = Math.min(200_000, Math.max(1000, Number(req.query.size) || 50_000));
    // `npm run demo:traffic -- --regress <tenant>` sends this header: a bad query plan for the
    // report query only, so the regression is real latency in real spans, on one endpoint.
    const slowMs = Math.min(10_000, Math.max(0, Number(req.headers['x-demo-slow-ms']) || 0));
    const values = await query(tenant, 'orders', () => Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) + Math.random()), slowMs);
    res.json({ tenant, values });
  });

  app.use('/demo-api', (_req, res) => {
    trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR });
    res.status(404).json({ error: 'no such demo endpoint' });
  });

  // One origin for the browser: OTLP goes to the gateway through here.
  const gateway = new URL(opts.gatewayUrl);
  function forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = httpRequest(
      { host: gateway.hostname, port: gateway.port, method: req.method, path: req.url, headers: { ...req.headers, host: gateway.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `gateway unreachable: ${err.message}` }));
    });
    req.pipe(upstream);
  }
  app.use('/v1', (req, res) => forward(Object.assign(req, { url: req.originalUrl }), res));
  // The app's "console" link: a redirect keeps the URL fragment (`#token=…`), which never reaches us.
  const consoleUrl = opts.consoleUrl ?? `${opts.gatewayUrl}/console/`;
  app.get(['/console', '/console/'], (_req, res) => res.redirect(302, consoleUrl));

  if (opts.staticDir !== undefined && existsSync(opts.staticDir)) {
    const index = readFileSync(join(opts.staticDir, 'index.html'));
    app.use(express.static(opts.staticDir, { index: false, maxAge: '1h' }));
    // Client-side routes all load the app.
    app.use((_req, res) => res.type('html').send(index));
  }

  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(opts.port, opts.host, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return {
    url: `http://${opts.host}:${port}`,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await telemetry.shutdown();
    },
  };
}
