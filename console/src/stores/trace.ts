import { action, computed, makeObservable, observable } from 'mobx';
import type { ApiClient } from '../api/client.ts';
import type { TraceDetail, TraceSpan } from '../api/types.ts';
import { Loadable } from './loadable.ts';

export interface WaterfallRow {
  readonly span: TraceSpan;
  readonly depth: number;
}

/** Parent-first, depth-first order, children by start time: the waterfall reads like a call tree. */
export function treeOrder(spans: readonly TraceSpan[]): WaterfallRow[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  for (const s of spans) {
    // A span whose parent never arrived is shown as a root rather than lost.
    const parent = ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId ? s.parentSpanId : '';
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [s]);
    else list.push(s);
  }
  for (const list of children.values()) list.sort((x, y) => x.startMicros - y.startMicros);
  const out: WaterfallRow[] = [];
  const seen = new Set<string>();
  const walk = (parent: string, depth: number): void => {
    for (const s of children.get(parent) ?? []) {
      if (seen.has(s.spanId)) continue; // a parent cycle in hostile data must not loop forever
      seen.add(s.spanId);
      out.push({ span: s, depth });
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

export class TraceStore {
  traceId = '';
  readonly detail = new Loadable<TraceDetail>('loadTrace');
  selectedSpan: string | undefined = undefined;

  constructor(private readonly api: ApiClient) {
    makeObservable(this, { traceId: observable, selectedSpan: observable, rows: computed, selected: computed, sessionIds: computed, select: action, setTrace: action });
  }

  setTrace(traceId: string): void {
    if (traceId !== this.traceId) {
      this.detail.reset();
      this.selectedSpan = undefined;
    }
    this.traceId = traceId;
  }

  load(): Promise<void> {
    const id = this.traceId;
    return this.detail.load(id, () => this.api.trace(id));
  }

  get rows(): WaterfallRow[] {
    return treeOrder(this.detail.value?.spans ?? []);
  }

  get selected(): TraceSpan | undefined {
    return this.detail.value?.spans.find((s) => s.spanId === this.selectedSpan);
  }

  /** The sessions this trace belongs to (usually one), with their tenant, for links. */
  get sessionIds(): Array<{ tenant: string; sessionId: string }> {
    const seen = new Map<string, { tenant: string; sessionId: string }>();
    for (const s of this.detail.value?.spans ?? []) if (s.sessionId !== '') seen.set(`${s.tenant}\u0000${s.sessionId}`, { tenant: s.tenant, sessionId: s.sessionId });
    return [...seen.values()];
  }

  select(spanId: string | undefined): void {
    this.selectedSpan = spanId === this.selectedSpan ? undefined : spanId;
  }
}
