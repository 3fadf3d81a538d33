/**
 * The Prometheus text exposition format (0.0.4), as the gateway (prom-client) and Caddy serve it:
 * one parser for every test and benchmark that reads /metrics.
 *
 * Why not a library: the one npm package for it, `parse-prometheus-text-format` (1.1.1), has had
 * no release since 2019, ships no types and groups samples by family, where the callers here want
 * flat samples summed by label subset. This covers the format's sample lines: label values with
 * escapes (\\, \", \n), NaN, +Inf/-Inf and optional timestamps.
 */

/** One sample line. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromExposition {
  /** Family name → its `# TYPE` (counter, gauge, histogram, summary, untyped). */
  readonly types: Map<string, string>;
  readonly samples: PromSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses a scrape; a line that is neither a comment nor a sample throws (a broken exposition is a bug to see). */
export function parsePrometheusText(text: string): PromExposition {
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) types.set(type[1] as string, type[2] as string);
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1] as string, labels, value: sampleValue(m[3] as string) });
  }
  return { types, samples };
}

/** Go's float formatting, which the format uses: `+Inf`/`-Inf` (Number() reads neither), `NaN`, decimals. */
function sampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** The sum of `name` over every sample whose labels include `labels` (all of its series when empty). */
export function sumSamples(samples: readonly PromSample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Scrapes `${baseUrl}/metrics` and sums `name` over the matching series. */
export async function scrapeMetric(baseUrl: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return sumSamples(parsePrometheusText(text).samples, name, labels);
}
