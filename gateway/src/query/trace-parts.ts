import type { IndexedPart } from './influx-trace-index.ts';
import type { TimeRange, TraceSummary } from './model.ts';

const NS_PER_SECOND = 1_000_000_000n;

/** A session's traces as the index's parts answer them, and those whose spans must be read instead. */
export interface PartsAnswer {
  readonly traces: TraceSummary[];
  /** Trace id → the seconds (in range) to read its spans in: a row without parts, or a second only partly in `range`. */
  readonly unsummarised: Map<string, number[]>;
}

/**
 * Merges each trace's parts (schema/trace-index.ts `TracePart`) in `range` into the summary
 * `summarizeTraces` (model.ts) gives for the same spans: min start, max end, the union of span ids
 * (a span sent again in another request counts once, as InfluxDB keeps it once), the earliest root
 * and earliest span by (start, name). A part covers a whole second, so a trace with a part in a
 * second `range` cuts, or a part the row does not hold (written before the parts), is answered from
 * its spans instead, in every second the index names for it.
 */
export function summariseParts(byTrace: ReadonlyMap<string, readonly IndexedPart[]>, range: TimeRange): PartsAnswer {
  const traces: TraceSummary[] = [];
  const unsummarised = new Map<string, number[]>();
  for (const [traceId, all] of byTrace) {
    const parts = all.filter((p) => BigInt(p.second) * NS_PER_SECOND < range.toNs && BigInt(p.second + 1) * NS_PER_SECOND > range.fromNs);
    if (parts.length === 0) continue;
    const whole = parts.every((p) => p.part !== undefined && BigInt(p.second) * NS_PER_SECOND >= range.fromNs && BigInt(p.second + 1) * NS_PER_SECOND <= range.toNs);
    if (!whole) {
      unsummarised.set(traceId, parts.map((p) => p.second));
      continue;
    }
    traces.push(merge(traceId, parts));
  }
  return { traces, unsummarised };
}

/** Offsets are taken from the earliest second, so every sum stays an exact number. */
function merge(traceId: string, parts: readonly IndexedPart[]): TraceSummary {
  let base = Infinity;
  for (const p of parts) if (p.second < base) base = p.second;
  let start = Infinity;
  let first = '';
  let end = -Infinity;
  let rootAt = Infinity;
  let root = '';
  const spans = new Set<string>();
  for (const { second, part } of parts) {
    if (part === undefined) continue;
    const us = (second - base) * 1_000_000;
    const s = us + part.startUs;
    if (s < start || (s === start && part.firstName < first)) {
      start = s;
      first = part.firstName;
    }
    const e = us * 1000 + part.endNs;
    if (e > end) end = e;
    if (part.rootUs !== undefined) {
      const r = us + part.rootUs;
      if (r < rootAt || (r === rootAt && part.rootName < root)) {
        rootAt = r;
        root = part.rootName;
      }
    }
    for (let i = 0; i < part.spanIds.length; i += 16) spans.add(part.spanIds.slice(i, i + 16));
  }
  return {
    traceId,
    // As summarizeTraces: a trace whose root has not arrived (or has no name) is named by its earliest span.
    rootName: root !== '' ? root : first,
    spanCount: spans.size,
    startMicros: base * 1_000_000 + start,
    durationMs: Math.round((end - start * 1000) / 1000) / 1000,
  };
}
