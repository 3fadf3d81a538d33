/**
 * Writes line protocol straight into InfluxDB v1 `/write` (the ceiling the gateway is compared
 * with), as its own process: `node --import tsx bench/support/direct-writer.ts '<DirectSpec JSON>'`.
 * `writers` loops each POST one batch and wait for the answer, cycling through the batches, until
 * `seconds` have passed. Prints `{"event":"start"}`, then a DirectResult line.
 */
import { readFileSync } from 'node:fs';

export interface DirectSpec {
  readonly writeUrl: string;
  /** Newline-separated line protocol; cut into `batchLines`-line batches. */
  readonly linesFile: string;
  readonly batchLines: number;
  readonly writers: number;
  readonly seconds: number;
}

export interface DirectResult {
  readonly event: 'result';
  readonly seconds: number;
  readonly linesOk: number;
  readonly failed: number;
  readonly firstError?: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as DirectSpec;
  const all = readFileSync(spec.linesFile, 'utf8').split('\n').filter((l) => l !== '');
  const batches: Array<{ body: string; lines: number }> = [];
  for (let i = 0; i < all.length; i += spec.batchLines) {
    const chunk = all.slice(i, i + spec.batchLines);
    batches.push({ body: chunk.join('\n'), lines: chunk.length });
  }
  let linesOk = 0;
  let failed = 0;
  let firstError: string | undefined;
  process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`);
  const t0 = performance.now();
  const end = Date.now() + spec.seconds * 1000;
  const writer = async (w: number): Promise<void> => {
    for (let i = w; Date.now() < end; i++) {
      const batch = batches[i % batches.length];
      if (batch === undefined) return;
      try {
        const res = await fetch(spec.writeUrl, { method: 'POST', body: batch.body, signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        if (res.ok) linesOk += batch.lines;
        else {
          failed++;
          firstError ??= `HTTP ${res.status}: ${text.slice(0, 200)}`;
        }
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.writers }, (_, w) => writer(w)));
  const result: DirectResult = { event: 'result', seconds: (performance.now() - t0) / 1000, linesOk, failed, ...(firstError === undefined ? {} : { firstError }) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
