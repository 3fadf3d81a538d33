import type { FieldSpec } from './measurements.ts';
import type { FieldValue, Point } from './point.ts';

/**
 * The alert evaluator's state, kept where the data lives so that a restarted evaluator neither
 * re-fires an alert nor forgets one that was firing (docs/alerts.md#state-across-restarts).
 *
 * One record per alert episode: an alert (tenant, dimension kind, dimension value) that fired at
 * `sinceMs`. InfluxDB gets one point per write, timestamped with `updatedMs`, and a reader keeps
 * the newest point of each episode; the embedded store keeps one row per episode, replaced on
 * each write. Tags are the alert's identity only: a few series per tenant (the endpoints and
 * views that ever alerted), never an id.
 */
export const ALERT_STATE = {
  name: 'tenantlens_alert_state',
  tags: ['tenant_id', 'dimension', 'dimension_value'],
  fields: [
    { name: 'state', type: 'string' },
    { name: 'since_ms', type: 'integer' },
    { name: 'resolved_at_ms', type: 'integer', optional: true },
    { name: 'window_start_ms', type: 'integer' },
    { name: 'last_at_ms', type: 'integer' },
    { name: 'baseline_ms', type: 'float' },
    { name: 'threshold_ms', type: 'float' },
    { name: 'p99_ms', type: 'float' },
    { name: 'count', type: 'integer' },
    { name: 'fired_p99_ms', type: 'float' },
    { name: 'peak_p99_ms', type: 'float' },
    { name: 'recoveries', type: 'integer' },
    { name: 'notified', type: 'boolean' },
    { name: 'updated_ms', type: 'integer' },
  ] satisfies readonly FieldSpec[],
  /** The embedded store's table: the tags and fields as columns, the episode as primary key. */
  table: { name: 'alert_state', primaryKey: ['tenant_id', 'dimension', 'dimension_value', 'since_ms'] },
} as const;

/** One alert episode as stored. Times are epoch milliseconds. */
export interface AlertStateRecord {
  readonly tenant: string;
  /** `endpoint` or `view_name` (query/model.ts `AlertDimension`; checked by the evaluator on restore). */
  readonly kind: string;
  readonly value: string;
  readonly state: 'firing' | 'resolved';
  readonly sinceMs: number;
  readonly resolvedAtMs?: number;
  readonly windowStartMs: number;
  readonly lastAtMs: number;
  readonly baselineMs: number;
  readonly thresholdMs: number;
  readonly p99Ms: number;
  readonly count: number;
  readonly firedP99Ms: number;
  readonly peakP99Ms: number;
  /** Consecutive recovered evaluations so far (a firing alert resolves at ALERT_RESOLVE_AFTER). */
  readonly recoveries: number;
  /** Every receiver has settled this episode's latest transition (fired or resolved): a restart does not send it again. */
  readonly notified: boolean;
  readonly updatedMs: number;
}

/** The outcome of a state write: `retryable` keeps the records for the next attempt. */
export type AlertStateWrite = { readonly kind: 'success' } | { readonly kind: 'retryable'; readonly reason: string };

/** Where the evaluator keeps its state: both stores implement it (store/alert-state-*.ts). */
export interface AlertStateStore {
  /** The records written in the last `sinceMs` (epoch ms) or still firing, newest write of each episode. */
  load(sinceMs: number): Promise<AlertStateRecord[]>;
  save(records: readonly AlertStateRecord[]): Promise<AlertStateWrite>;
}

/** Which episode a record is about: the alert and when it fired. */
export function episodeId(r: Pick<AlertStateRecord, 'tenant' | 'kind' | 'value' | 'sinceMs'>): string {
  return `${r.tenant}\u0000${r.kind}\u0000${r.value}\u0000${r.sinceMs}`;
}

/** The record as column values, by the declared names (the InfluxDB point's fields, the table's columns). */
export function alertStateColumns(r: AlertStateRecord): Map<string, FieldValue> {
  const int = (value: number): FieldValue => ({ type: 'integer', value: Math.round(value) });
  const float = (value: number): FieldValue => ({ type: 'float', value });
  const out = new Map<string, FieldValue>([
    ['state', { type: 'string', value: r.state }],
    ['since_ms', int(r.sinceMs)],
    ['window_start_ms', int(r.windowStartMs)],
    ['last_at_ms', int(r.lastAtMs)],
    ['baseline_ms', float(r.baselineMs)],
    ['threshold_ms', float(r.thresholdMs)],
    ['p99_ms', float(r.p99Ms)],
    ['count', int(r.count)],
    ['fired_p99_ms', float(r.firedP99Ms)],
    ['peak_p99_ms', float(r.peakP99Ms)],
    ['recoveries', int(r.recoveries)],
    ['notified', { type: 'boolean', value: r.notified }],
    ['updated_ms', int(r.updatedMs)],
  ]);
  if (r.resolvedAtMs !== undefined) out.set('resolved_at_ms', int(r.resolvedAtMs));
  return out;
}

/** The InfluxDB point: the identity as tags (sorted by key), the rest as fields in declared order, at `updatedMs`. */
export function alertStatePoint(r: AlertStateRecord): Point {
  const columns = alertStateColumns(r);
  const fields = ALERT_STATE.fields.flatMap((f) => {
    const v = columns.get(f.name);
    return v === undefined ? [] : [[f.name, v] as const];
  });
  const tags: Array<readonly [string, string]> = [
    ['dimension', r.kind],
    ['dimension_value', r.value],
    ['tenant_id', r.tenant],
  ];
  // Line protocol has no empty tag value: an alert on "" (spans without a route or view) leaves the tag out, read back as "".
  return { measurement: ALERT_STATE.name, tags: tags.filter(([, v]) => v !== ''), fields, timestamp: BigInt(Math.round(r.updatedMs)) * 1_000_000n };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined);

/**
 * A record from a row keyed by the declared column names (an InfluxQL result row or a DuckDB
 * row); undefined for a row that is not a whole record (a foreign or damaged point is skipped, not
 * trusted). An absent tag reads as "" (InfluxDB does not store empty tag values).
 */
export function alertStateFromRow(row: Readonly<Record<string, unknown>>): AlertStateRecord | undefined {
  const text = (k: string): string => (typeof row[k] === 'string' ? (row[k] as string) : '');
  const state = row.state;
  if (state !== 'firing' && state !== 'resolved') return undefined;
  const tenant = text('tenant_id');
  const kind = text('dimension');
  if (tenant === '' || kind === '') return undefined;
  const ints = ['since_ms', 'window_start_ms', 'last_at_ms', 'count', 'recoveries', 'updated_ms'] as const;
  const floats = ['baseline_ms', 'threshold_ms', 'p99_ms', 'fired_p99_ms', 'peak_p99_ms'] as const;
  const v: Record<string, number> = {};
  for (const k of [...ints, ...floats]) {
    const n = num(row[k]);
    if (n === undefined) return undefined;
    v[k] = n;
  }
  const notified = bool(row.notified);
  if (notified === undefined) return undefined;
  const resolvedAtMs = num(row.resolved_at_ms);
  if (state === 'resolved' && resolvedAtMs === undefined) return undefined;
  const g = (k: string): number => v[k] as number;
  return {
    tenant,
    kind,
    value: text('dimension_value'),
    state,
    sinceMs: g('since_ms'),
    ...(resolvedAtMs === undefined ? {} : { resolvedAtMs }),
    windowStartMs: g('window_start_ms'),
    lastAtMs: g('last_at_ms'),
    baselineMs: g('baseline_ms'),
    thresholdMs: g('threshold_ms'),
    p99Ms: g('p99_ms'),
    count: g('count'),
    firedP99Ms: g('fired_p99_ms'),
    peakP99Ms: g('peak_p99_ms'),
    recoveries: g('recoveries'),
    notified,
    updatedMs: g('updated_ms'),
  };
}

/**
 * The newest write of each episode, then, of an alert with several firing episodes (two
 * evaluators ran at once, or a resolution was lost), only the newest one that no resolution of
 * the same alert has overtaken: an alert fires once.
 */
export function latestAlertStates(records: Iterable<AlertStateRecord>): AlertStateRecord[] {
  const byEpisode = new Map<string, AlertStateRecord>();
  for (const r of records) {
    const id = episodeId(r);
    const seen = byEpisode.get(id);
    // A resolution is final: a late "firing" write of the same episode never undoes it.
    const replaces = seen === undefined || (seen.state === r.state ? r.updatedMs > seen.updatedMs : r.state === 'resolved');
    if (replaces) byEpisode.set(id, r);
  }
  const alertOf = (r: AlertStateRecord): string => `${r.tenant}\u0000${r.kind}\u0000${r.value}`;
  const lastResolvedSince = new Map<string, number>();
  const resolved: AlertStateRecord[] = [];
  for (const r of byEpisode.values()) {
    if (r.state !== 'resolved') continue;
    resolved.push(r);
    lastResolvedSince.set(alertOf(r), Math.max(r.sinceMs, lastResolvedSince.get(alertOf(r)) ?? -Infinity));
  }
  const firing = new Map<string, AlertStateRecord>();
  for (const r of byEpisode.values()) {
    if (r.state !== 'firing' || r.sinceMs <= (lastResolvedSince.get(alertOf(r)) ?? -Infinity)) continue;
    const other = firing.get(alertOf(r));
    if (other === undefined || r.sinceMs > other.sinceMs || (r.sinceMs === other.sinceMs && r.updatedMs > other.updatedMs)) firing.set(alertOf(r), r);
  }
  return [...resolved, ...firing.values()];
}
