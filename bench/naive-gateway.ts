/**
 * The NAIVE BASELINE gateway for the end-to-end benchmark (issue 6): what a straightforward
 * implementation does. Express with `express.raw` (body-parser inflates gzip), the naive pipeline
 * (our decoder and mapping, one `@influxdata/influxdb-client` `Point` per measurement row joined into
 * line protocol), then one POST of that request's lines to InfluxDB v1 `/write` before answering 200.
 * No batching, no buffer, no backpressure beyond the request itself.
 *
 * Run: `SINK_URL=http://127.0.0.1:8086 node --import tsx bench/naive-gateway.ts`
 * (env: SINK_URL required, INFLUX_DB=bench, HOST=127.0.0.1, PORT=0). Prints one JSON line
 * `{"msg":"listening","port":N}` on stdout once it accepts connections.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import { naivePipeline } from '../harness/naive-pipeline.ts';

const sinkUrl = process.env.SINK_URL;
if (sinkUrl === undefined || sinkUrl === '') {
  process.stderr.write('naive-gateway: SINK_URL is required\n');
  process.exit(1);
}
const writeUrl = `${sinkUrl}/write?${new URLSearchParams({ db: process.env.INFLUX_DB ?? 'bench', precision: 'ns' }).toString()}`;
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 0);

const app = express();
app.disable('x-powered-by');
app.post(
  '/v1/traces',
  express.raw({ type: ['application/x-protobuf', 'application/json'], limit: '20mb' }),
  async (req: Request, res: Response) => {
    const tenant = req.get('x-tenant-id');
    if (tenant === undefined || tenant === '') {
      res.status(401).json({ code: 16, message: 'missing X-Tenant-ID' });
      return;
    }
    if (!Buffer.isBuffer(req.body)) {
      res.status(415).json({ code: 3, message: 'unsupported content type' });
      return;
    }
    const encoding = req.is('application/json') === false ? 'protobuf' : 'json';
    let lines: string;
    try {
      lines = naivePipeline(req.body, encoding, tenant);
    } catch (err) {
      res.status(400).json({ code: 3, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    try {
      const up = await fetch(writeUrl, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: lines });
      await up.arrayBuffer();
      if (!up.ok) {
        res.status(502).json({ code: 14, message: `database answered ${up.status}` });
        return;
      }
    } catch (err) {
      res.status(503).json({ code: 14, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    // An empty ExportTraceServiceResponse: zero bytes in protobuf, `{}` in JSON.
    if (encoding === 'json') res.status(200).json({});
    else res.status(200).type('application/x-protobuf').end(Buffer.alloc(0));
  },
);
// Body-parser errors (413, 415, bad gzip) keep their status.
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
  res.status(status).json({ code: 3, message: err instanceof Error ? err.message : String(err) });
});

const server = app.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});
server.keepAliveTimeout = 65_000;
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
