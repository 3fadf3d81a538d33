import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Response } from 'express';
import type { Logger } from 'pino';

/**
 * No inline scripts or styles, nothing from other origins, no framing: the console holds an
 * operator token in sessionStorage, so an injected script must have nowhere to run from.
 */
export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Vite's hashed file names change with their content: cached for a year, never revalidated. */
const IMMUTABLE_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tenantlens console not built</title></head>
<body><h1>The console is not built</h1>
<p>the console is not built: run npm run build</p>
<p>Run it at the repository root, then restart the gateway (or point <code>CONSOLE_DIR</code> at a
built console, or set <code>CONSOLE=off</code>).</p>
<p>The JSON API is at <a href="../api/v1/whoami">/api/v1/</a>.</p></body></html>
`;

function security(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

/**
 * `/console/`: the built console (`CONSOLE_DIR`) through express.static. `index.html` is revalidated
 * every time (it names the hashed assets), `assets/` is immutable, any other path that is not a
 * file answers `index.html` (the console routes with the hash anyway). Without a built console:
 * one log line now, and a page that says how to build it: never a 500.
 */
export function createConsoleStatic(opts: { readonly dir: string; readonly logger: Logger }): express.Router {
  const router = express.Router();
  const index = join(opts.dir, 'index.html');
  // Decided once: a console built after start needs a restart, as any other deployment change.
  const built = existsSync(index);
  if (!built) opts.logger.warn({ dir: opts.dir }, 'the console is not built (no index.html in CONSOLE_DIR): /console/ shows how to build it; run npm run build');

  router.use((_req, res, next) => {
    security(res);
    next();
  });
  const notBuilt = (res: Response): void => {
    res.status(200).type('html').setHeader('Cache-Control', 'no-cache').send(NOT_BUILT);
  };
  if (!built) {
    router.get(/.*/, (_req, res) => notBuilt(res));
    return router;
  }
  // A missing hashed asset is a 404 (falls through to the gateway's), not index.html served as script.
  router.use('/assets', express.static(join(opts.dir, 'assets'), { index: false, maxAge: IMMUTABLE_MAX_AGE_MS, immutable: true, redirect: false }));
  router.use(
    express.static(opts.dir, {
      index: false,
      cacheControl: false,
      redirect: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  router.get(/.*/, (req, res, next) => {
    if (req.path.startsWith('/assets/')) {
      next();
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index, { cacheControl: false }, (err) => {
      // Removed since start (a redeploy in progress): say so rather than fail.
      if (err !== undefined && !res.headersSent) notBuilt(res);
    });
  });
  return router;
}
