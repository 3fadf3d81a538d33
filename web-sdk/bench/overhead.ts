/**
 * Cost of a tracedAction against a plain MobX action with the same body, in the same process.
 * Run by bench/web-sdk.ts (`npm run bench`) with NODE_ENV=production: the MobX build apps ship.
 *
 * Cases, alternating in rounds so a noisy neighbour slows all alike (median round per case):
 * - plain `action(name, body)`;
 * - tracedAction, sampled out (`sampleRate: 0`): a non-recording span and context switch;
 * - tracedAction, below `minDurationMs`: recorded, then discarded before the queue;
 * - tracedAction, exported: recorded, batched, serialized to OTLP/JSON by the real exporter and
 *   sent to a local server answering 200 at once. In Node the exporter sends with node:http
 *   instead of fetch; serialization, the part that runs on the app's thread, is the same.
 * The body changes an observable that one reaction observes, so each call also runs a reaction.
 * Prints one JSON object per case on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { action, observable, reaction } from 'mobx';
import { startTenantlens, type Tenantlens } from '../src/index.ts';
import { tracedAction } from '../src/mobx/index.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
// Calls between pauses. After each chunk the traced cases flush (not timed), so the queue (2048)
// never overflows: a tight loop outruns the one export in flight, which real user actions do not.
const CHUNK = 500;

const store = observable({ n: 0 });
let seen = 0;
reaction(
  () => store.n,
  (n) => {
    seen = n;
  },
  { name: 'render' },
);
const body = (): void => {
  store.n++;
};

// Stand-in gateway: 200 with an empty OTLP/JSON response, at once.
const gateway = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
const gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

/** One SDK instance at a time: each traced case starts its own and stops it after its round. */
function withTracing(opts: { sampleRate?: number; minDurationMs?: number }): Tenantlens {
  return startTenantlens({ url: gatewayUrl, serviceName: 'bench', instrumentFetch: false, ...opts });
}

const cases: Array<{ name: string; setup: () => Tenantlens | undefined; fn: () => void }> = [
  { name: 'plain MobX action', setup: () => undefined, fn: action('plain', body) },
  { name: 'tracedAction, sampled out', setup: () => withTracing({ sampleRate: 0 }), fn: tracedAction('traced', body) },
  { name: 'tracedAction, below minDurationMs', setup: () => withTracing({ minDurationMs: 1_000 }), fn: tracedAction('traced', body) },
  { name: 'tracedAction, exported (OTLP/JSON)', setup: () => withTracing({}), fn: tracedAction('traced', body) },
];

const pause = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs `fn` for about `ms` of loop time in chunks; returns µs per call (loop time only). */
async function measure(fn: () => void, ms: number, tl: Tenantlens | undefined): Promise<{ usPerCall: number; calls: number }> {
  let busy = 0;
  let calls = 0;
  while (busy < ms) {
    const t0 = performance.now();
    for (let i = 0; i < CHUNK; i++) fn();
    busy += performance.now() - t0;
    calls += CHUNK;
    if (tl !== undefined) await tl.forceFlush();
    else await pause();
  }
  return { usPerCall: (busy * 1000) / calls, calls };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const rounds = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const totals = new Map<string, { calls: number; exported: number; dropped: number; belowMin: number }>();
const ROUND_MS = 250;
const roundCount = Math.max(3, Math.round((SECONDS * 1000) / (ROUND_MS * cases.length)));

for (let r = -1; r < roundCount; r++) {
  for (const c of cases) {
    const tl = c.setup();
    const { usPerCall, calls } = await measure(c.fn, ROUND_MS, tl);
    if (tl !== undefined) {
      await tl.shutdown(); // waits for exports in flight too, so the counts below are final
      const s = tl.stats();
      const t = totals.get(c.name) ?? { calls: 0, exported: 0, dropped: 0, belowMin: 0 };
      t.calls += calls;
      t.exported += s.spansExported;
      t.dropped += s.spansDropped;
      t.belowMin += s.spansBelowMinDuration;
      totals.set(c.name, t);
    }
    if (r >= 0) rounds.get(c.name)?.push(usPerCall); // round -1 warms up the JIT
  }
}

if (seen !== store.n) throw new Error('the reaction did not run for every action');
const exported = totals.get('tracedAction, exported (OTLP/JSON)');
if (exported === undefined || exported.exported !== exported.calls || exported.dropped !== 0) {
  throw new Error(`exported case lost spans: ${JSON.stringify(exported)}`);
}
const plain = median(rounds.get('plain MobX action') ?? []);
for (const c of cases) {
  const us = median(rounds.get(c.name) ?? []);
  const t = totals.get(c.name);
  console.log(
    JSON.stringify({
      case: c.name,
      usPerCall: Number(us.toFixed(3)),
      ratio: Number((us / plain).toFixed(2)),
      overheadUs: Number((us - plain).toFixed(3)),
      ...(t === undefined ? {} : { spansExported: t.exported, spansBelowMinDuration: t.belowMin, spansDropped: t.dropped }),
    }),
  );
}
gateway.closeAllConnections();
gateway.close();
