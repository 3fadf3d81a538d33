import type { AlertDimension, DrillDown, WindowP99 } from '../query/model.ts';
import { trailingMedianBaseline, type WindowSample } from './baseline.ts';
import { fireThresholdMs, resolveThresholdMs, type AlertRules } from './rules.ts';
import { drilldownUrl, keyOf, RESOLVED_MAX, RESOLVED_RETENTION_MILLIS, type AlertKey, type AlertView } from './state.ts';
import type { EpisodeState } from './episode.ts';

const DIMENSIONS: readonly AlertDimension[] = ['endpoint', 'view_name'];

/** What one evaluation changed, plus everything firing after it. */
export interface EvaluationResult {
  readonly at: number;
  readonly fired: readonly AlertView[];
  readonly resolved: readonly AlertView[];
  readonly firing: readonly AlertView[];
}

export interface Evaluator {
  /** One evaluation at `at` (epoch ms, default now). Evaluations never overlap: a call waits for the previous one. */
  evaluate(at?: number): Promise<EvaluationResult>;
  /** Firing alerts, then resolved ones, newest first. */
  alerts(): AlertView[];
  readonly firingCount: number;
  /** What a restart needs: every firing alert and every resolved one still listed (alerts/state-keeper.ts stores it). */
  episodes(): EpisodeState[];
  /** Before the first evaluation: takes over the episodes a previous process stored (firing ones stay firing, without a new notification). */
  restore(episodes: readonly EpisodeState[]): void;
}

export interface EvaluatorOptions {
  readonly queries: Pick<DrillDown, 'windowP99'>;
  readonly rules: AlertRules;
  readonly dashboardUrl?: string | undefined;
  readonly now?: () => number;
}

/**
 * Per (tenant, endpoint|view) state machine: ok → firing → (resolved, listed) → ok.
 *
 * - A window gives a verdict only with at least minSamples samples; with fewer, the state holds
 *   (a quiet tenant neither fires nor resolves on noise).
 * - ok → firing after fireAfter consecutive breaching windows (P99 above the fire threshold).
 * - While firing, the baseline is frozen at the value it fired against: a long regression would
 *   otherwise become the trailing median and "resolve" itself.
 * - firing → resolved after resolveAfter consecutive windows below baseline × resolveRatio,
 *   a lower bar than firing (hysteresis), so a P99 hovering at the threshold does not flap.
 */
interface Entry {
  readonly key: AlertKey;
  phase: 'ok' | 'firing';
  breaches: number;
  recoveries: number;
  sinceMs: number;
  windowStartMs: number;
  lastAtMs: number;
  baselineMs: number;
  thresholdMs: number;
  p99Ms: number;
  count: number;
  firedP99Ms: number;
  peakP99Ms: number;
}

// Over 120 lines on purpose: one closure over the per-(tenant, dimension) entries and the clock.
// `run` walks each entry through the state machine (fire, hold, resolve) reading and writing that
// entry; apart, the steps would pass the whole state back and forth.
export function createEvaluator(opts: EvaluatorOptions): Evaluator {
  const { rules } = opts;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  /** Resolved alerts still listed, newest first: the entry as it was when it resolved. */
  let resolved: Array<{ readonly entry: Entry; readonly resolvedAtMs: number }> = [];
  let chain: Promise<unknown> = Promise.resolve();

  const round = (v: number): number => Math.round(v * 1000) / 1000;

  function view(e: Entry, state: 'firing' | 'resolved', resolvedAtMs?: number): AlertView {
    const toMs = resolvedAtMs ?? e.lastAtMs;
    return {
      tenant: e.key.tenant,
      dimension: { kind: e.key.kind, value: e.key.value },
      state,
      since: new Date(e.sinceMs).toISOString(),
      ...(resolvedAtMs === undefined ? {} : { resolvedAt: new Date(resolvedAtMs).toISOString() }),
      p99Ms: e.p99Ms,
      count: e.count,
      firedP99Ms: e.firedP99Ms,
      peakP99Ms: e.peakP99Ms,
      baselineMs: round(e.baselineMs),
      thresholdMs: round(e.thresholdMs),
      drilldown: {
        from: new Date(e.windowStartMs).toISOString(),
        to: new Date(toMs).toISOString(),
        url: drilldownUrl(opts.dashboardUrl, e.key.tenant, e.windowStartMs, toMs),
      },
    };
  }

  async function run(at: number): Promise<EvaluationResult> {
    const w = rules.windowMillis;
    const k = rules.baselineWindows;
    const fromMs = at - (k + 1) * w;
    const range = { fromNs: BigInt(fromMs) * 1_000_000n, toNs: BigInt(at) * 1_000_000n };
    const bucketNs = BigInt(w) * 1_000_000n;
    const groups = new Map<string, { key: AlertKey; windows: Array<WindowSample | undefined> }>();
    for (const kind of DIMENSIONS) {
      const rows: WindowP99[] = await opts.queries.windowP99(range, bucketNs, kind);
      for (const r of rows) {
        const key: AlertKey = { tenant: r.tenant, kind, value: r.value };
        const id = keyOf(key);
        const g = groups.get(id) ?? { key, windows: new Array<WindowSample | undefined>(k + 1).fill(undefined) };
        const index = Math.round((r.startMs - fromMs) / w);
        if (index >= 0 && index <= k) g.windows[index] = { count: r.count, p99: r.p99 };
        groups.set(id, g);
      }
    }
    // Firing alerts are evaluated even when their windows are empty (so they stay listed, fresh).
    for (const [id, e] of entries) if (!groups.has(id) && e.phase === 'firing') groups.set(id, { key: e.key, windows: [] });

    const fired: AlertView[] = [];
    const nowResolved: AlertView[] = [];
    const justResolved: typeof resolved = [];
    for (const [id, g] of groups) {
      const current = g.windows[k] ?? { count: 0, p99: 0 };
      let e = entries.get(id);
      const sufficient = current.count >= rules.minSamples;
      if (e === undefined || e.phase === 'ok') {
        const previous = g.windows.slice(0, k).filter((x): x is WindowSample => x !== undefined);
        const baseline = trailingMedianBaseline(previous, rules.minSamples, rules.baselineMinWindows);
        if (baseline === undefined || !sufficient) {
          if (e !== undefined && baseline === undefined) e.breaches = 0;
          continue;
        }
        const threshold = fireThresholdMs(rules, baseline.baselineMs);
        if (current.p99 <= threshold) {
          if (e !== undefined) e.breaches = 0;
          continue;
        }
        // What an alert records of the window that made it fire.
        const snapshot = {
          sinceMs: at,
          lastAtMs: at,
          baselineMs: baseline.baselineMs,
          thresholdMs: threshold,
          p99Ms: current.p99,
          count: current.count,
          firedP99Ms: current.p99,
          peakP99Ms: current.p99,
        };
        e ??= { key: g.key, phase: 'ok', breaches: 0, recoveries: 0, windowStartMs: at - w, ...snapshot };
        entries.set(id, e);
        e.breaches++;
        if (e.breaches === 1) e.windowStartMs = at - w;
        if (e.breaches >= rules.fireAfter) {
          Object.assign(e, { phase: 'firing', recoveries: 0, ...snapshot });
          fired.push(view(e, 'firing'));
        }
        continue;
      }
      // Firing.
      e.lastAtMs = at;
      if (!sufficient) continue;
      e.p99Ms = current.p99;
      e.count = current.count;
      e.peakP99Ms = Math.max(e.peakP99Ms, current.p99);
      if (current.p99 < resolveThresholdMs(rules, e.baselineMs)) {
        e.recoveries++;
        if (e.recoveries >= rules.resolveAfter) {
          nowResolved.push(view(e, 'resolved', at));
          justResolved.push({ entry: { ...e }, resolvedAtMs: at });
          entries.delete(id);
        }
      } else {
        e.recoveries = 0;
      }
    }
    // Entries that are neither firing nor counting breaches carry no state worth keeping.
    for (const [id, e] of entries) if (e.phase === 'ok' && (e.breaches === 0 || !groups.has(id))) entries.delete(id);
    resolved = [...justResolved.reverse(), ...resolved].filter((r) => at - r.resolvedAtMs < RESOLVED_RETENTION_MILLIS).slice(0, RESOLVED_MAX);
    return { at, fired, resolved: nowResolved, firing: firingViews() };
  }

  function toEpisode(e: Entry, state: 'firing' | 'resolved', resolvedAtMs?: number): EpisodeState {
    const { tenant, kind, value } = e.key;
    const { sinceMs, windowStartMs, lastAtMs, baselineMs, thresholdMs, p99Ms, count, firedP99Ms, peakP99Ms, recoveries } = e;
    return { tenant, kind, value, state, sinceMs, ...(resolvedAtMs === undefined ? {} : { resolvedAtMs }), windowStartMs, lastAtMs, baselineMs, thresholdMs, p99Ms, count, firedP99Ms, peakP99Ms, recoveries };
  }

  function firingViews(): AlertView[] {
    return [...entries.values()]
      .filter((e) => e.phase === 'firing')
      .sort((x, y) => y.sinceMs - x.sinceMs || (keyOf(x.key) < keyOf(y.key) ? -1 : 1))
      .map((e) => view(e, 'firing'));
  }

  return {
    evaluate(at = now()) {
      const next = chain.then(
        () => run(Math.floor(at)),
        () => run(Math.floor(at)),
      );
      chain = next.catch(() => undefined);
      return next;
    },
    alerts() {
      return [...firingViews(), ...resolved.map((r) => view(r.entry, 'resolved', r.resolvedAtMs))];
    },
    episodes() {
      const firing = [...entries.values()].filter((e) => e.phase === 'firing').map((e) => toEpisode(e, 'firing'));
      return [...firing, ...resolved.map((r) => toEpisode(r.entry, 'resolved', r.resolvedAtMs))];
    },
    restore(episodes) {
      const listed: typeof resolved = [];
      for (const ep of episodes) {
        const { sinceMs, windowStartMs, lastAtMs, baselineMs, thresholdMs, p99Ms, count, firedP99Ms, peakP99Ms, recoveries } = ep;
        const key: AlertKey = { tenant: ep.tenant, kind: ep.kind, value: ep.value };
        const e: Entry = { key, phase: ep.state === 'firing' ? 'firing' : 'ok', breaches: 0, sinceMs, windowStartMs, lastAtMs, baselineMs, thresholdMs, p99Ms, count, firedP99Ms, peakP99Ms, recoveries };
        if (ep.state === 'firing') entries.set(keyOf(key), e);
        else if (ep.resolvedAtMs !== undefined) listed.push({ entry: e, resolvedAtMs: ep.resolvedAtMs });
      }
      resolved = listed.sort((x, y) => y.resolvedAtMs - x.resolvedAtMs).slice(0, RESOLVED_MAX);
    },
    get firingCount() {
      let n = 0;
      for (const e of entries.values()) if (e.phase === 'firing') n++;
      return n;
    },
  };
}
