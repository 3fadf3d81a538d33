import type {
  AlertView,
  Comparison,
  CriticalPath,
  ErrorsAnswer,
  Group,
  Metric,
  OperationCount,
  Range,
  SessionSummary,
  Side,
  TenantSummary,
  TimeSeries,
  TraceDetail,
  TraceSummary,
  VitalsAnswer,
  Whoami,
} from './types.ts';

/** A refused or failed request. `status` 0 means the gateway could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** The gateway origin the API lives on ('' = same origin, as served at /console/). */
  readonly baseUrl: string;
  /** The current credential, read on every request (sign-out takes effect at once). */
  readonly token: () => string | undefined;
  /** Called with the gateway's reason on every 401, before the request rejects. */
  readonly onUnauthorized: (reason: string) => void;
}

const enc = encodeURIComponent;
const rangeQuery = (r: Range): string => `from=${enc(r.from)}&to=${enc(r.to)}`;

/** The drill-down API, typed. Every method rejects with an ApiError carrying the gateway's message. */
export function createApiClient(opts: ApiClientOptions) {
  async function get<T>(path: string): Promise<T> {
    const token = opts.token();
    let res: Response;
    try {
      res = await fetch(`${opts.baseUrl}/api/v1${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    } catch (err) {
      throw new ApiError(0, `the gateway is unreachable (${(err as Error).message})`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const e = (body as { error?: { message?: string } | string } | undefined)?.error;
      const message = typeof e === 'string' ? e : (e?.message ?? `HTTP ${res.status}`);
      if (res.status === 401) opts.onUnauthorized(message);
      throw new ApiError(res.status, message);
    }
    return body as T;
  }

  return {
    whoami: () => get<Whoami>('/whoami'),
    tenants: (range: Range) => get<{ tenants: TenantSummary[] }>(`/tenants?${rangeQuery(range)}`).then((r) => r.tenants),
    timeseries: (q: { metric: Metric; group: Group; side?: Side; tenant?: string; range: Range; step?: string }) =>
      get<TimeSeries>(
        `/timeseries?metric=${q.metric}&group=${q.group}${q.side === undefined ? '' : `&side=${q.side}`}${q.tenant === undefined ? '' : `&tenant=${enc(q.tenant)}`}&${rangeQuery(q.range)}${q.step === undefined ? '' : `&step=${enc(q.step)}`}`,
      ),
    sessions: (tenant: string, range: Range, limit: number) =>
      get<{ sessions: SessionSummary[] }>(`/tenants/${enc(tenant)}/sessions?${rangeQuery(range)}&limit=${limit}`).then((r) => r.sessions),
    traces: (tenant: string, range: Range, limit: number, sessionId?: string) =>
      get<{ traces: TraceSummary[] }>(
        `/tenants/${enc(tenant)}/traces?${rangeQuery(range)}&limit=${limit}${sessionId === undefined ? '' : `&session_id=${enc(sessionId)}`}`,
      ).then((r) => r.traces),
    trace: (traceId: string) => get<TraceDetail>(`/traces/${enc(traceId)}`),
    compare: (a: string, b: string, range: Range) => get<Comparison>(`/compare?a=${enc(a)}&b=${enc(b)}&${rangeQuery(range)}`),
    alerts: () => get<{ alerts: AlertView[] }>('/alerts').then((r) => r.alerts),
    operations: (a: string, b: string | undefined, range: Range) =>
      get<{ operations: OperationCount[] }>(`/operations?a=${enc(a)}${b === undefined ? '' : `&b=${enc(b)}`}&${rangeQuery(range)}`).then((r) => r.operations),
    criticalPath: (a: string, b: string, operation: string, range: Range) =>
      get<CriticalPath>(`/compare/critical-path?a=${enc(a)}&b=${enc(b)}&operation=${enc(operation)}&${rangeQuery(range)}`),
    vitals: (tenant: string, by: 'tenant' | 'view', range: Range) => get<VitalsAnswer>(`/vitals?tenant=${enc(tenant)}&by=${by}&${rangeQuery(range)}`),
    errors: (tenant: string, range: Range, limit: number) => get<ErrorsAnswer>(`/errors?tenant=${enc(tenant)}&${rangeQuery(range)}&limit=${limit}`),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
