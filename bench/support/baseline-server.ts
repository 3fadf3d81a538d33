import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { AddressInfo } from 'node:net';

/**
 * What the two baseline gateways (bench/naive-gateway.ts, bench/idiomatic-gateway.ts) share
 * around their one route: the OTLP success answer, the error handler, listening, and stopping.
 */

/** The body parser both use: body-parser reads and inflates (gzip) the body into a Buffer. */
export const rawOtlpBody = express.raw({ type: ['application/x-protobuf', 'application/json'], limit: '20mb' });

export interface BaselineExport {
  readonly tenant: string;
  readonly body: Buffer;
  readonly encoding: 'protobuf' | 'json';
}

/** The tenant (X-Tenant-ID), body and encoding of an export, or undefined once it has answered 401 or 415. */
export function readExport(req: Request, res: Response): BaselineExport | undefined {
  const tenant = req.get('x-tenant-id');
  if (tenant === undefined || tenant === '') {
    res.status(401).json({ code: 16, message: 'missing X-Tenant-ID' });
    return undefined;
  }
  if (!Buffer.isBuffer(req.body)) {
    res.status(415).json({ code: 3, message: 'unsupported content type' });
    return undefined;
  }
  return { tenant, body: req.body, encoding: req.is('application/json') === false ? 'protobuf' : 'json' };
}

/** An empty ExportTraceServiceResponse: zero bytes in protobuf, `{}` in JSON. */
export function answerExport(res: Response, encoding: 'protobuf' | 'json'): void {
  if (encoding === 'json') res.status(200).json({});
  else res.status(200).type('application/x-protobuf').end(Buffer.alloc(0));
}

export interface BaselineServerOptions {
  readonly host: string;
  readonly port: number;
  /** Runs on SIGTERM/SIGINT while the server closes (a last flush); the process exits when both are done, or after 5 s. */
  readonly beforeExit?: () => Promise<void>;
}

/**
 * Adds the error handler (body-parser errors such as 413, 415 and bad gzip keep their status),
 * listens, prints `{"msg":"listening","port":N}` on stdout (what harness/gateway.ts waits for) and
 * exits on SIGTERM or SIGINT.
 */
export function serveBaseline(app: Express, opts: BaselineServerOptions): void {
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    res.status(status).json({ code: 3, message: err instanceof Error ? err.message : String(err) });
  });
  const server = app.listen(opts.port, opts.host, () => {
    process.stdout.write(`${JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port })}\n`);
  });
  server.keepAliveTimeout = 65_000;
  const stop = (): void => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    void Promise.allSettled([closed, opts.beforeExit?.()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
