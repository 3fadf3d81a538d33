import { makeAutoObservable, runInAction } from 'mobx';
import { drill, type AlertView, type Comparison, type Range, type SessionSummary, type TenantSummary, type TraceSpan, type TraceSummary } from '../api.ts';

type Load<T> = { state: 'idle' } | { state: 'loading'; previous: T | undefined } | { state: 'ready'; value: T } | { state: 'error'; message: string };

/** The drill-down state: tenants → a tenant's sessions → a session's traces → one trace. */
export class DashboardStore {
  /** The drill-down window: the last hour, or an alert's window after following its link. */
  from = '-1h';
  to = 'now';
  alerts: Load<AlertView[]> = { state: 'idle' };
  tenants: Load<TenantSummary[]> = { state: 'idle' };
  comparison: Load<Comparison> = { state: 'idle' };
  tenant: string | undefined = undefined;
  sessions: Load<SessionSummary[]> = { state: 'idle' };
  session: string | undefined = undefined;
  traces: Load<TraceSummary[]> = { state: 'idle' };
  traceId: string | undefined = undefined;
  spans: Load<TraceSpan[]> = { state: 'idle' };
  selectedSpan: string | undefined = undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor() {
    makeAutoObservable(this, {}, { autoBind: true });
  }

  /** Loads into `key`, keeping the previous value visible while refreshing. */
  get range(): Range {
    return { from: this.from, to: this.to };
  }

  /** True while showing an alert's window rather than the last hour. */
  get pinned(): boolean {
    return this.to !== 'now';
  }

  private async load<K extends 'tenants' | 'comparison' | 'sessions' | 'traces' | 'spans' | 'alerts'>(key: K, fetcher: () => Promise<unknown>): Promise<void> {
    const current = this[key] as Load<unknown>;
    (this[key] as Load<unknown>) = { state: 'loading', previous: current.state === 'ready' ? current.value : current.state === 'loading' ? current.previous : undefined };
    try {
      const value = await fetcher();
      runInAction(() => ((this[key] as Load<unknown>) = { state: 'ready', value }));
    } catch (err) {
      runInAction(() => ((this[key] as Load<unknown>) = { state: 'error', message: (err as Error).message }));
    }
  }

  refresh(): void {
    void this.load('alerts', () => drill.alerts());
    // The comparison picks its two tenants from the fresh tenant list, so it loads second.
    void this.load('tenants', () => drill.tenants(this.range)).then(() => this.load('comparison', async () => {
      const t = this.tenants.state === 'ready' ? this.tenants.value : [];
      const [a, b] = pickComparison(t);
      return a === undefined || b === undefined || a === b ? undefined : drill.compare(a, b, this.range);
    }));
    if (this.tenant !== undefined) void this.load('sessions', () => drill.sessions(this.tenant as string, this.range));
    if (this.tenant !== undefined && this.session !== undefined) void this.load('traces', () => drill.traces(this.tenant as string, this.session as string, this.range));
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(this.refresh, 5000);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  selectTenant(tenant: string | undefined): void {
    this.tenant = tenant;
    this.session = undefined;
    this.traceId = undefined;
    this.sessions = { state: 'idle' };
    if (tenant !== undefined) void this.load('sessions', () => drill.sessions(tenant, this.range));
  }

  selectSession(session: string | undefined): void {
    this.session = session;
    this.traceId = undefined;
    this.traces = { state: 'idle' };
    if (session !== undefined && this.tenant !== undefined) void this.load('traces', () => drill.traces(this.tenant as string, session, this.range));
  }

  selectTrace(traceId: string | undefined): void {
    this.traceId = traceId;
    this.selectedSpan = undefined;
    this.spans = { state: 'idle' };
    if (traceId !== undefined) void this.load('spans', () => drill.trace(traceId));
  }

  selectSpan(spanId: string | undefined): void {
    this.selectedSpan = spanId;
  }

  /** An alert's link: that tenant's sessions in the alert's time window. */
  openDrilldown(tenant: string, from: string, to: string): void {
    this.from = from;
    this.to = to;
    this.selectTenant(tenant);
    this.refresh();
  }

  /** Back to the rolling last hour. */
  unpin(): void {
    this.from = '-1h';
    this.to = 'now';
    this.refresh();
  }
}

/** Compare the fastest and the slowest tenant by frontend p99. */
export function pickComparison(tenants: readonly TenantSummary[]): [string | undefined, string | undefined] {
  const ranked = [...tenants].filter((t) => t.frontend.p99 !== null).sort((x, y) => (x.frontend.p99 ?? 0) - (y.frontend.p99 ?? 0));
  return [ranked[0]?.tenant, ranked[ranked.length - 1]?.tenant];
}

export function valueOf<T>(l: Load<T>): T | undefined {
  return l.state === 'ready' ? l.value : l.state === 'loading' ? l.previous : undefined;
}
