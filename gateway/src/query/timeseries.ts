import { GatewayError } from '../errors.ts';
import type { BucketRow, SeriesGroup, SeriesMetric, Side, TimeRange } from './model.ts';

/**
 * `GET /api/v1/timeseries`: what is asked, and the shared assembly of the stores' bucket rows into
 * series, so both stores answer the same JSON.
 */
export const METRICS: readonly SeriesMetric[] = ['p50', 'p95', 'p99', 'count', 'error_rate'];
export const GROUPS: readonly SeriesGroup[] = ['tenant', 'endpoint', 'view'];
export const SIDES: readonly Side[] = ['frontend', 'backend'];

/** Buckets one answer may hold: a chart has no use for more, and each costs the store work. */
export const MAX_BUCKETS = 1000;

export interface SeriesPoint {
  /** Bucket start, µs since the epoch. */
  readonly t: number;
  readonly value: number;
  readonly count: number;
}

export interface Series {
  readonly tenant: string;
  readonly key: string;
  readonly points: readonly SeriesPoint[];
}

/** The group key of a frontend view: "view · action", or the view alone without an action. */
export function viewKey(view: string, action: string): string {
  return action === '' ? view : `${view} · ${action}`;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `step`: `30s`, `5m`, `1h`, `1d` or bare seconds; whole seconds from 1 s. Returns ms. */
export function parseStep(raw: unknown): number {
  if (typeof raw !== 'string') throw new GatewayError('BAD_REQUEST', 'step: give it once, as a duration like 30s, 5m or 1h (a bare number is seconds)');
  const m = /^(\d{1,7})([smhd])?$/.exec(raw.trim());
  const ms = m === null ? 0 : Number(m[1]) * (UNIT_MS[m[2] ?? 's'] as number);
  if (ms < 1000) throw new GatewayError('BAD_REQUEST', `step: expected a duration of at least 1s like 30s, 5m or 1h (a bare number is seconds); got "${raw}"`);
  return ms;
}

/** Steps a default is rounded up to: ~60 points over any range. */
const NICE_STEPS_MS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400].map((s) => s * 1000);

/** The range / 60, rounded up to the next step of NICE_STEPS_MS (whole days past one day). */
export function defaultStepMs(rangeMs: number): number {
  const raw = rangeMs / 60;
  return NICE_STEPS_MS.find((s) => s >= raw) ?? Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** Refuses a step that would cut the range into more than MAX_BUCKETS buckets. */
export function checkBuckets(range: TimeRange, stepMs: number): void {
  const rangeMs = Number((range.toNs - range.fromNs) / 1_000_000n);
  const buckets = Math.ceil(rangeMs / stepMs);
  if (buckets > MAX_BUCKETS) {
    const min = Math.ceil(rangeMs / MAX_BUCKETS / 1000);
    throw new GatewayError('BAD_REQUEST', `step: ${stepMs / 1000}s gives ${buckets} buckets over this range; the limit is ${MAX_BUCKETS} buckets (use a step of at least ${min}s)`);
  }
}

/** Series sorted by tenant then key, points by time; buckets aligned on `range.fromNs`. */
export function buildSeries(rows: readonly BucketRow[], metric: SeriesMetric, range: TimeRange, stepNs: bigint): Series[] {
  // error_rate rows carry the error count: the one division happens here for both stores.
  const ratio = metric === 'error_rate';
  const fromMicros = Number(range.fromNs / 1000n);
  const stepMicros = Number(stepNs / 1000n);
  const by = new Map<string, { tenant: string; key: string; points: SeriesPoint[] }>();
  for (const r of rows) {
    if (r.count === 0) continue;
    const id = JSON.stringify([r.tenant, r.key]);
    let s = by.get(id);
    if (s === undefined) {
      s = { tenant: r.tenant, key: r.key, points: [] };
      by.set(id, s);
    }
    s.points.push({ t: fromMicros + r.bucket * stepMicros, value: ratio ? r.value / r.count : r.value, count: r.count });
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const out = [...by.values()].sort((x, y) => cmp(x.tenant, y.tenant) || cmp(x.key, y.key));
  for (const s of out) s.points.sort((x, y) => x.t - y.t);
  return out;
}

/** error_rate rows from raw spans (the InfluxDB store, where the group keys are fields): errors (as `value`) and spans per bucket. */
export function errorRateBuckets(spans: Iterable<{ tenant: string; key: string; timeNs: bigint; statusCode: number }>, range: TimeRange, stepNs: bigint): BucketRow[] {
  const acc = new Map<string, { tenant: string; key: string; bucket: number; n: number; errors: number }>();
  for (const s of spans) {
    const bucket = Number((s.timeNs - range.fromNs) / stepNs);
    const id = JSON.stringify([s.tenant, s.key, bucket]);
    let a = acc.get(id);
    if (a === undefined) {
      a = { tenant: s.tenant, key: s.key, bucket, n: 0, errors: 0 };
      acc.set(id, a);
    }
    a.n++;
    if (s.statusCode === STATUS_ERROR) a.errors++;
  }
  return [...acc.values()].map((a) => ({ tenant: a.tenant, key: a.key, bucket: a.bucket, value: a.errors, count: a.n }));
}

/** OTLP `Status.code` ERROR. */
export const STATUS_ERROR = 2;
