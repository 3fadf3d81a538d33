import { warnOnce } from './report.ts';

/**
 * The current view: what the user is looking at, stamped as `view_name` on every span.
 *
 * Views are a small registry rather than a single variable because React mounts and unmounts
 * them in an order that does not follow the tree (children's effects run before their parents').
 * Each entry carries its tree depth; the deepest one wins, and among equals the latest entered.
 */
interface ViewEntry {
  readonly name: string;
  readonly depth: number;
  readonly seq: number;
}

const DEFAULT_VIEW_NAME = 'unknown';

const entries: ViewEntry[] = [];
let seq = 0;
let fallback = DEFAULT_VIEW_NAME;
// Recomputed on enter/leave, so reading the view on every span is one variable read.
let current: string = fallback;

const listeners = new Set<(view: string) => void>();
/** When each view became current (performance time), for events measured after the fact. */
const history: Array<{ readonly at: number; readonly name: string }> = [];
const MAX_HISTORY = 64;

function recompute(): void {
  const before = current;
  let best: ViewEntry | undefined;
  for (const e of entries) {
    if (best === undefined || e.depth > best.depth || (e.depth === best.depth && e.seq > best.seq)) best = e;
  }
  current = best?.name ?? fallback;
  if (current === before) return;
  if (best !== undefined && typeof performance !== 'undefined') {
    history.push({ at: performance.now(), name: current });
    if (history.length > MAX_HISTORY) history.shift();
  }
  for (const l of listeners) l(current);
}

/**
 * The view that was current at `at` (performance time). A web vital is reported long after it
 * happened (CLS and INP when the page is hidden, maybe views later); it belongs to the view the
 * user was looking at when it happened. Before the first view was entered (TTFB, FCP): the first
 * view, the page's own.
 */
export function viewAt(at: number): string {
  let name = history[0]?.name ?? current;
  for (const h of history) {
    if (h.at > at) break;
    name = h.name;
  }
  return name;
}

/** Calls `listener` with the new view whenever the current view changes; returns the unsubscribe. */
export function onViewChange(listener: (view: string) => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/**
 * Marks `name` as the current view until the returned function is called. Nested views pass a
 * larger `depth` (the React bindings do this for you). Calling the returned function twice is
 * harmless. An empty name is ignored with a one-time warning: it would drop the span from the
 * gateway's `frontend_performance` measurement.
 */
export function enterView(name: string, depth = 0): () => void {
  if (typeof name !== 'string' || name.trim() === '') {
    warnOnce('view:empty', 'enterView/useViewName/<TenantlensView> needs a non-empty name; the call was ignored.');
    return () => {};
  }
  const entry: ViewEntry = { name, depth: Number.isFinite(depth) ? depth : 0, seq: ++seq };
  entries.push(entry);
  recompute();
  let left = false;
  return () => {
    if (left) return;
    left = true;
    entries.splice(entries.indexOf(entry), 1);
    recompute();
  };
}

/** The `view_name` a span started now would get. */
export function getViewName(): string {
  return current;
}

/** Used by `startTenantlens({ defaultViewName })`: the view when none is entered. */
export function setDefaultViewName(name: string | undefined): void {
  fallback = name === undefined || name.trim() === '' ? DEFAULT_VIEW_NAME : name;
  recompute();
}
