/**
 * The IDIOMATIC BASELINE gateway for the end-to-end benchmark (issue 17 §4): what most people would
 * write with the official tools. Express with `express.raw` (body-parser inflates gzip), the
 * idiomatic pipeline (harness/idiomatic-pipeline.ts: protobufjs or `JSON.parse` decoding, our
 * mapping, one `@influxdata/influxdb-client` `Point` per row), `WriteApi.writePoints()` and a 200
 * at once: the client batches and writes in the background, so the answer comes BEFORE the write
 * (unlike bench/naive-gateway.ts, which answers after its own write, and unlike ours, which answers
 * once the lines are in its bounded buffer).
 *
 * The client's options, except where noted, are its defaults: the batch size and the flush interval
 * are ours (5,000 lines, 1 s), so that both batch alike; write bodies are not gzipped (the
 * client's default gzips past 1,000 bytes; ours writes plain line protocol to v1), so that the
 * comparison is about the code, not the wire format. WRITE_GZIP=1 restores the client's default.
 *
 * Run: `SINK_URL=http://127.0.0.1:8086 node --import tsx bench/idiomatic-gateway.ts`
 * (env: SINK_URL required, INFLUX_DB=bench, HOST=127.0.0.1, PORT=0, WRITE_GZIP). It writes to
 * `/api/v2/write` (all the client speaks); harness/sink.ts answers it. Prints one JSON line
 * `{"msg":"listening","port":N}` on stdout once it accepts connections, and on SIGTERM, after the
 * client's last flush, `{"msg":"stopped","writeFailures":N,"retrySkippedLines":N}`.
 */
import express, { type Request, type Response } from 'express';
import { DEFAULT_WriteOptions, InfluxDB } from '@influxdata/influxdb-client';
import { createIdiomaticPipeline } from '../harness/idiomatic-pipeline.ts';
import { answerExport, rawOtlpBody, readExport, serveBaseline } from './support/baseline-server.ts';

const sinkUrl = process.env.SINK_URL;
if (sinkUrl === undefined || sinkUrl === '') {
  process.stderr.write('idiomatic-gateway: SINK_URL is required\n');
  process.exit(1);
}
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 0);

let writeFailures = 0;
let retrySkippedLines = 0;
const writeApi = new InfluxDB({ url: sinkUrl, token: 'bench' }).getWriteApi('bench', process.env.INFLUX_DB ?? 'bench', 'ns', {
  batchSize: 5000,
  flushInterval: 1000,
  gzipThreshold: process.env.WRITE_GZIP === '1' ? DEFAULT_WriteOptions.gzipThreshold : Number.POSITIVE_INFINITY,
  writeFailed(error) {
    writeFailures++;
    process.stderr.write(`idiomatic-gateway: write failed: ${error.message}\n`);
  },
  writeRetrySkipped(entry) {
    retrySkippedLines += entry.lines.length;
  },
});
const pipeline = createIdiomaticPipeline();

const app = express();
app.disable('x-powered-by');
app.post('/v1/traces', rawOtlpBody, (req: Request, res: Response) => {
  const exp = readExport(req, res);
  if (exp === undefined) return;
  try {
    writeApi.writePoints(pipeline(exp.body, exp.encoding, exp.tenant));
  } catch (err) {
    res.status(400).json({ code: 3, message: err instanceof Error ? err.message : String(err) });
    return;
  }
  // Acknowledged before the write: the client sends the batch when it is full or on its timer.
  answerExport(res, exp.encoding);
});
serveBaseline(app, {
  host,
  port,
  // The client's close() flushes what it still holds.
  beforeExit: () =>
    writeApi
      .close()
      .catch((err: unknown) => void process.stderr.write(`idiomatic-gateway: last flush failed: ${String(err)}\n`))
      .finally(() => void process.stdout.write(`${JSON.stringify({ msg: 'stopped', writeFailures, retrySkippedLines })}\n`)),
});
