/** Thin fetch wrappers: the demo API (tenant JWT) and the drill-down API (via the backend's operator proxy). */

export interface LatencyStats { count: number; p50: number | null; p95: number | null; p99: number | null }
export interface TenantSummary { tenant: string; frontend: LatencyStats; backend: LatencyStats }
export interface SessionSummary { sessionId: string; spanCount: number; p99Ms: number | null; maxMs: number | null; firstSeenMicros: number; lastSeenMicros: number }
export interface TraceSummary { traceId: string; rootName: string; spanCount: number; startMicros: number; durationMs: number }
export interface TraceSpan {
  traceId: string; spanId: string; parentSpanId: string; name: string; service: string; kind: string; tenant: string;
  startMicros: number; durationMs: number; statusCode: number; sessionId: string; attributes: Record<string, string | number | boolean>;
}
export interface ComparisonRow { key: Record<string, string>; a: LatencyStats; b: LatencyStats; p99DiffMs: number | null }
export interface Comparison { a: string; b: string; endpoints: ComparisonRow[]; views: ComparisonRow[] }
/** `GET /api/v1/alerts` (see the gateway's alerts/state.ts). */
export interface AlertView {
  tenant: string; dimension: { kind: 'endpoint' | 'view_name'; value: string }; state: 'firing' | 'resolved'; since: string; resolvedAt?: string;
  p99Ms: number; count: number; firedP99Ms: number; peakP99Ms: number; baselineMs: number; thresholdMs: number; drilldown: { from: string; to: string; url: string };
}
/** A drill-down time range: `from`/`to` as the API takes them (relative like -1h, `now`, or ISO-8601). */
export interface Range { from: string; to: string }
const q = (r: Range): string => `from=${encodeURIComponent(r.from)}&to=${encodeURIComponent(r.to)}`;

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  const body = (await res.json()) as T & { error?: { message?: string } | string };
  if (!res.ok) {
    const e = body.error;
    throw new Error(typeof e === 'string' ? e : (e?.message ?? `HTTP ${res.status}`));
  }
  return body;
}

export const drill = {
  tenants: (range: Range) => getJson<{ tenants: TenantSummary[] }>(`/api/v1/tenants?${q(range)}`).then((r) => r.tenants),
  sessions: (tenant: string, range: Range) => getJson<{ sessions: SessionSummary[] }>(`/api/v1/tenants/${encodeURIComponent(tenant)}/sessions?${q(range)}&limit=25`).then((r) => r.sessions),
  traces: (tenant: string, session: string, range: Range) =>
    getJson<{ traces: TraceSummary[] }>(`/api/v1/tenants/${encodeURIComponent(tenant)}/traces?${q(range)}&limit=25&session_id=${encodeURIComponent(session)}`).then((r) => r.traces),
  trace: (traceId: string) => getJson<{ spans: TraceSpan[] }>(`/api/v1/traces/${traceId}`).then((r) => r.spans),
  compare: (a: string, b: string, range: Range) => getJson<Comparison>(`/api/v1/compare?a=${a}&b=${b}&${q(range)}`),
  alerts: () => getJson<{ alerts: AlertView[] }>('/api/v1/alerts').then((r) => r.alerts),
};

export async function login(tenant: string): Promise<string> {
  const res = await fetch('/demo-api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant }) });
  if (!res.ok) throw new Error(`login failed: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export function demoApi<T>(path: string, token: string): Promise<T> {
  return getJson<T>(`/demo-api/${path}`, { authorization: `Bearer ${token}` });
}

export const fmtMs = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);
export const fmtTime = (micros: number): string => new Date(micros / 1000).toLocaleTimeString();
