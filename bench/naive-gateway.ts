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
import express, { type Request, type Response } from 'express';
import { naivePipeline } from '../harness/naive-pipeline.ts';
import { answerExport, rawOtlpBody, readExport, serveBaseline } from './support/baseline-server.ts';

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
app.post('/v1/traces', rawOtlpBody, async (req: Request, res: Response) => {
  const exp = readExport(req, res);
  if (exp === undefined) return;
  let lines: string;
  try {
    lines = naivePipeline(exp.body, exp.encoding, exp.tenant);
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
  answerExport(res, exp.encoding);
});
serveBaseline(app, { host, port });
