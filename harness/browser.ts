import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { oneOpenTelemetryCopy } from '../web-sdk/tools/esbuild-plugins.ts';
import { requireBinary } from './binaries.ts';

/** Debian's chromium. Never a downloaded browser: playwright-core only drives it. */
export const CHROMIUM = '/usr/bin/chromium';

/** Without these flags Chromium keeps trying to reach Google services from the test machine. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launchChromium(): Promise<Browser> {
  requireBinary(CHROMIUM, 'chromium');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

/**
 * Bundles a page entry for the browser the way an app's bundler would: ESM, one copy of each
 * OpenTelemetry package, and `process.env.NODE_ENV` replaced (production builds of MobX and React).
 */
export async function bundleForBrowser(entry: string, nodeEnv: 'production' | 'development' = 'production'): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': JSON.stringify(nodeEnv) },
    plugins: [oneOpenTelemetryCopy()],
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error(`esbuild produced nothing for ${entry}`);
  return out.text;
}

export interface ApiRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface PageServer {
  /** http://127.0.0.1:PORT (also the page's origin). */
  readonly url: string;
  /** Requests to /api/*, as the backend saw them (headers include any traceparent). */
  readonly apiRequests: ApiRequest[];
  close(): Promise<void>;
}

/**
 * Serves `index.html` (a `#root` div and `app.js` as a module) and `app.js` from 127.0.0.1:0.
 * `/api/*` answers with `api(path)` as JSON, standing in for the app's backend.
 */
export async function servePage(js: string, api: (path: string) => unknown, assets: ReadonlyMap<string, { type: string; body: Buffer; delayMs?: number }> = new Map()): Promise<PageServer> {
  const apiRequests: ApiRequest[] = [];
  const html = '<!doctype html><html><head><meta charset="utf-8"><title>tenantlens</title></head><body><div id="root"></div><script type="module" src="/app.js"></script></body></html>';
  const send = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') send(res, 200, 'text/html; charset=utf-8', html);
    else if (path === '/app.js') send(res, 200, 'text/javascript; charset=utf-8', js);
    else if (path === '/favicon.ico') res.writeHead(204).end(); // else a 404 in the console
    else if (assets.has(path)) {
      const a = assets.get(path) as { type: string; body: Buffer; delayMs?: number };
      setTimeout(() => res.writeHead(200, { 'content-type': a.type, 'cache-control': 'no-store' }).end(a.body), a.delayMs ?? 0);
    }
    else if (path.startsWith('/api/')) {
      apiRequests.push({ path, headers: req.headers });
      send(res, 200, 'application/json', JSON.stringify(api(path)));
    } else send(res, 404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface StandInGateway {
  readonly url: string;
  /** POST /v1/traces requests in arrival order (preflights and other paths excluded), with their arrival time. */
  readonly posts: Array<{ at: number; body: string }>;
  close(): Promise<void>;
}

/**
 * A stand-in for the gateway that answers each POST /v1/traces with `answer(n)` (n = 1, 2, …),
 * for status codes the real gateway cannot be made to send on demand. CORS like the gateway's,
 * plus `Access-Control-Expose-Headers: Retry-After`, without which a page cannot read the header.
 */
export async function startStandInGateway(
  origin: string,
  answer: (n: number) => { status: number; headers?: Record<string, string> },
): Promise<StandInGateway> {
  const posts: Array<{ at: number; body: string }> = [];
  const cors = {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'Retry-After',
  };
  const server = createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      res
        .writeHead(204, {
          ...cors,
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? ''),
        })
        .end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      // Errors and vitals (/v1/logs) are not what the stand-in is for.
      if (!(req.url ?? '').startsWith('/v1/traces')) {
        res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end('{}');
        return;
      }
      posts.push({ at: Date.now(), body });
      const a = answer(posts.length);
      res.writeHead(a.status, { ...cors, 'content-type': 'application/json', ...a.headers }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
