/**
 * Critical path of one trace, and the comparison of critical-path time between two groups of
 * traces (`GET /api/v1/compare/critical-path`). Pure: both stores hand their spans to these
 * functions, so the answer cannot depend on the store. The rules (docs/console.md, "Critical path"):
 *
 * - **Root.** The earliest parentless span (with the given name, when one is asked for; ties by
 *   span id). Other parentless spans are treated like orphans (below).
 * - **Walk.** From the end of a span backwards: the child that finished last (at or before the
 *   current point) is on the path, then the child that finished last before that child started,
 *   and so on; the gaps are the span's own (self) time. So of parallel children only the
 *   last-finishing chain is critical, as in Jaeger's critical path. Equal ends: the longer child.
 * - **Outliving children.** A child is clipped to its parent's window: time a child spends after
 *   its parent ended (or before it started) is not on the parent's path. A child left with no time
 *   inside its parent is not on the path.
 * - **Clock skew.** A child from another service than its parent has another clock. When it lies
 *   partly or wholly outside the parent's window but is not longer than the window, it (and its
 *   whole subtree, which shares its clock) is shifted by the least amount that puts it inside.
 *   A longer one is clipped. A child of the same service shares the parent's clock: only clipped.
 * - **Orphans** (a parent id that is not in the trace, e.g. an ingress that forwards `traceparent`
 *   but exports nothing): adopted by the deepest span of the trace whose time encloses the orphan
 *   (ties: the latest start), else by the root, unless it spans the whole root (a wider second
 *   root): then it is ignored. Orphans are placed in start order, so an adopted orphan can adopt a
 *   later one.
 * - Spans unreachable from the root even so (a cycle of parent ids) are ignored; a duplicate span
 *   id keeps its first span.
 *
 * Times are nanoseconds as bigints; the stores give starts at microsecond precision.
 */

export interface CpSpan {
  readonly spanId: string;
  /** '' for a root. */
  readonly parentSpanId: string;
  readonly service: string;
  readonly name: string;
  readonly startNs: bigint;
  readonly durationNs: bigint;
}

/** One trace's spans, as a store hands them to the comparison. */
export interface CpTrace {
  readonly traceId: string;
  readonly spans: readonly CpSpan[];
}

/** A root span found by a store: its trace and start (µs). */
export interface RootRow {
  readonly traceId: string;
  readonly startMicros: number;
}

/** One span on the critical path, with the part of its time that is critical and its own. */
export interface PathStep {
  readonly spanId: string;
  readonly service: string;
  readonly name: string;
  readonly selfNs: bigint;
}

export interface CriticalPath {
  readonly rootSpanId: string;
  /** Depth-first from the root. */
  readonly steps: readonly PathStep[];
  /** Self time on the path per (service, name), largest first (ties by service, name). */
  readonly byOperation: ReadonlyArray<{ readonly service: string; readonly name: string; readonly selfNs: bigint }>;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function pickRoot(spans: readonly CpSpan[], rootName: string | undefined): CpSpan | undefined {
  let root: CpSpan | undefined;
  for (const s of spans) {
    if (s.parentSpanId !== '' || (rootName !== undefined && s.name !== rootName)) continue;
    if (root === undefined || s.startNs < root.startNs || (s.startNs === root.startNs && s.spanId < root.spanId)) root = s;
  }
  return root;
}

/** Parent → children, after orphans (and extra roots) found an adopter. */
function buildTree(byId: ReadonlyMap<string, CpSpan>, root: CpSpan): Map<string, CpSpan[]> {
  const children = new Map<string, CpSpan[]>();
  const orphans: CpSpan[] = [];
  const add = (parent: string, s: CpSpan): void => {
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [s]);
    else list.push(s);
  };
  for (const s of byId.values()) {
    if (s === root) continue;
    if (s.parentSpanId !== '' && s.parentSpanId !== s.spanId && byId.has(s.parentSpanId)) add(s.parentSpanId, s);
    else orphans.push(s);
  }
  if (orphans.length === 0) return children;
  // Depth of every span reachable from the root; orphans join as they are adopted.
  const depth = new Map<string, number>();
  const mark = (top: CpSpan, d: number): void => {
    const stack: Array<[CpSpan, number]> = [[top, d]];
    while (stack.length > 0) {
      const [s, sd] = stack.pop() as [CpSpan, number];
      if (depth.has(s.spanId)) continue;
      depth.set(s.spanId, sd);
      for (const c of children.get(s.spanId) ?? []) stack.push([c, sd + 1]);
    }
  };
  mark(root, 0);
  orphans.sort((x, y) => (x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : cmp(x.spanId, y.spanId)));
  for (const o of orphans) {
    const end = o.startNs + o.durationNs;
    let best = root;
    let bestDepth = 0;
    for (const [id, d] of depth) {
      const c = byId.get(id) as CpSpan;
      if (c.startNs > o.startNs || c.startNs + c.durationNs < end) continue;
      const later = c.startNs > best.startNs || (c.startNs === best.startNs && c.spanId < best.spanId);
      if (d > bestDepth || (d === bestDepth && later)) {
        best = c;
        bestDepth = d;
      }
    }
    // A span around the whole root (another, wider root) cannot be part of the root's work.
    if (best === root && o.startNs <= root.startNs && end >= root.startNs + root.durationNs) continue;
    add(best.spanId, o);
    mark(o, bestDepth + 1);
  }
  return children;
}

interface Frame {
  readonly span: CpSpan;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Correction applied to this span's clock (and its same-clock descendants'). */
  readonly offsetNs: bigint;
}

/** A child's window inside its parent's: shifted when from another clock and it fits, then clipped. */
function childFrame(parent: Frame, c: CpSpan): Frame | undefined {
  let offset = parent.offsetNs;
  let start = c.startNs + offset;
  let end = start + c.durationNs;
  const outside = start < parent.startNs || end > parent.endNs;
  if (outside && c.service !== parent.span.service && c.durationNs <= parent.endNs - parent.startNs) {
    const delta = start < parent.startNs ? parent.startNs - start : parent.endNs - end;
    offset += delta;
    start += delta;
    end += delta;
  }
  if (start < parent.startNs) start = parent.startNs;
  if (end > parent.endNs) end = parent.endNs;
  return end > start ? { span: c, startNs: start, endNs: end, offsetNs: offset } : undefined;
}

/** Latest end first; equal ends: the longer (earlier start) first; then span id. */
function byEndDesc(x: Frame, y: Frame): number {
  if (x.endNs !== y.endNs) return x.endNs > y.endNs ? -1 : 1;
  if (x.startNs !== y.startNs) return x.startNs < y.startNs ? -1 : 1;
  return cmp(x.span.spanId, y.span.spanId);
}

/** The critical path of one trace; undefined when it has no root (with that name). */
export function criticalPath(spans: readonly CpSpan[], rootName?: string): CriticalPath | undefined {
  const byId = new Map<string, CpSpan>();
  for (const s of spans) if (!byId.has(s.spanId)) byId.set(s.spanId, s);
  const root = pickRoot([...byId.values()], rootName);
  if (root === undefined) return undefined;
  const children = buildTree(byId, root);
  const steps: PathStep[] = [];
  const stack: Frame[] = [{ span: root, startNs: root.startNs, endNs: root.startNs + root.durationNs, offsetNs: 0n }];
  while (stack.length > 0) {
    const f = stack.pop() as Frame;
    const kids = (children.get(f.span.spanId) ?? []).flatMap((c) => childFrame(f, c) ?? []).sort(byEndDesc);
    let t = f.endNs;
    let self = 0n;
    const onPath: Frame[] = [];
    for (const k of kids) {
      if (k.endNs > t) continue; // overlaps a later child already on the path
      self += t - k.endNs;
      onPath.push(k);
      t = k.startNs;
    }
    self += t - f.startNs;
    steps.push({ spanId: f.span.spanId, service: f.span.service, name: f.span.name, selfNs: self });
    // Latest pushed first, so the children pop (and are listed) in time order.
    for (let i = 0; i < onPath.length; i++) stack.push(onPath[i] as Frame);
  }
  return { rootSpanId: root.spanId, steps, byOperation: sumByOperation(steps) };
}

function sumByOperation(steps: readonly PathStep[]): CriticalPath['byOperation'] {
  const acc = new Map<string, { service: string; name: string; selfNs: bigint }>();
  for (const s of steps) {
    const key = JSON.stringify([s.service, s.name]);
    const e = acc.get(key);
    if (e === undefined) acc.set(key, { service: s.service, name: s.name, selfNs: s.selfNs });
    else e.selfNs += s.selfNs;
  }
  return [...acc.values()].sort((x, y) => (x.selfNs !== y.selfNs ? (x.selfNs > y.selfNs ? -1 : 1) : cmp(x.service, y.service) || cmp(x.name, y.name)));
}
