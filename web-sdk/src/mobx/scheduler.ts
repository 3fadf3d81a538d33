import { context, type Context } from '@opentelemetry/api';
import { _getGlobalState, configure, getDebugName, observable, spy } from 'mobx';
import { ATTR_MOBX_REACTION_COUNT, ATTR_MOBX_REACTION_NAMES } from '../core/attributes.ts';
import { reportInternalError, warnOnce } from '../core/report.ts';
import { isDefaultMobxName } from './names.ts';
import { endMobxSpan, perfNow, startMobxSpan } from './spans.ts';

/**
 * One layer in MobX's `reactionScheduler`, the hook MobX calls with "run the pending reactions"
 * at the end of every outermost batch. It exists in production builds (unlike `spy`), and it is
 * the only place where a whole reaction flush can be timed.
 *
 * MobX composes schedulers (`configure` wraps the previous one) and offers no way to remove one,
 * so the layer is installed once per page and switched by module state; when nothing is switched
 * on it is a plain pass-through call.
 */
let installed = false;
/** Set by a traced flow's step so the reactions that step causes are children of the flow span. */
let flushParent: Context | undefined;
let timing: FlushTiming | undefined;

interface FlushTiming {
  readonly minDurationMs: number;
  /** Reaction names of the running flush, collected by the development-only spy. */
  names: string[] | undefined;
  readonly collectNames: boolean;
}

export function ensureScheduler(): void {
  if (installed) return;
  installed = true;
  try {
    configure({ reactionScheduler: scheduled });
  } catch (err) {
    reportInternalError('installing the MobX reaction scheduler', err);
  }
}

/**
 * A flow step runs inside a MobX action that MobX itself starts from a promise callback, so the
 * reactions at the end of that action run outside the flow's context. The step leaves its context
 * here; the flush that ends the step picks it up. A microtask clears it if no flush came.
 */
export function setFlushParent(ctx: Context): void {
  flushParent = ctx;
  queueMicrotask(() => {
    if (flushParent === ctx) flushParent = undefined;
  });
}

function scheduled(run: () => void): void {
  const parent = flushParent;
  flushParent = undefined;
  const t = timing;
  if (t === undefined) {
    if (parent === undefined) run();
    else context.with(parent, run);
    return;
  }
  if (parent === undefined) timedFlush(run, t);
  else context.with(parent, () => timedFlush(run, t));
}

function pendingReactions(): number {
  try {
    return _getGlobalState().pendingReactions.length;
  } catch {
    return -1; // unknown; still time the flush
  }
}

function timedFlush(run: () => void, t: FlushTiming): void {
  const queued = pendingReactions();
  if (queued === 0) {
    run();
    return;
  }
  if (t.collectNames) t.names = [];
  const start = perfNow();
  try {
    run();
  } finally {
    const end = perfNow();
    const names = t.names;
    t.names = undefined;
    if (end - start >= t.minDurationMs) {
      const attributes: Record<string, number | string[]> = { [ATTR_MOBX_REACTION_COUNT]: Math.max(queued, 0) };
      if (names !== undefined) attributes[ATTR_MOBX_REACTION_NAMES] = names.slice(0, 50);
      const started = startMobxSpan('mobx.reactions', 'reactions', { startTime: start, attributes });
      if (started !== undefined) endMobxSpan(started.span, undefined, end);
    }
  }
}

export interface InstrumentMobxOptions {
  /** Reaction flushes shorter than this make no span. Default 50 (the Long Tasks threshold). */
  minDurationMs?: number;
  /**
   * Development builds of MobX only: use `spy` to add the names of the reactions of a flush
   * (`mobx.reactions.names`) and to warn once about unnamed plain MobX actions and reactions.
   * Production builds compile `spy` to a no-op, so nothing else depends on it. Default `true`.
   */
  devDetails?: boolean;
}

/** True for a development build of MobX: its default debug names carry an `@id` suffix. */
export function isMobxDevelopmentBuild(): boolean {
  try {
    return /@\d+$/.test(getDebugName(observable.box(0)));
  } catch {
    return false;
  }
}

/**
 * Times every MobX reaction flush; a flush longer than `minDurationMs` becomes a `mobx.reactions`
 * span with the number of reactions it ran (`mobx.reactions.count`). Returns a function that
 * switches it off again.
 */
export function instrumentMobx(options: InstrumentMobxOptions = {}): () => void {
  try {
    ensureScheduler();
    let min = options.minDurationMs ?? 50;
    if (typeof min !== 'number' || !Number.isFinite(min) || min < 0) {
      warnOnce('instrumentMobx:min', `instrumentMobx: minDurationMs must be a number ≥ 0, got ${String(min)}; using 50`);
      min = 50;
    }
    const dev = options.devDetails !== false && isMobxDevelopmentBuild();
    const t: FlushTiming = { minDurationMs: min, names: undefined, collectNames: dev };
    timing = t;
    const stopSpy = dev
      ? spy((event) => {
          if (event.type === 'reaction') {
            t.names?.push(event.name);
            if (isDefaultMobxName(event.name)) warnUnnamed('reaction', event.name);
          } else if (event.type === 'action' && isDefaultMobxName(event.name)) {
            warnUnnamed('action', event.name);
          }
        })
      : undefined;
    return () => {
      if (timing === t) timing = undefined;
      stopSpy?.();
    };
  } catch (err) {
    reportInternalError('instrumentMobx', err);
    return () => {};
  }
}

function warnUnnamed(kind: string, name: string): void {
  warnOnce(
    `mobx-unnamed:${kind}`,
    `a MobX ${kind} without a name ran ("${name}"). Production builds of MobX call every such ${kind} "${kind === 'action' ? '<unnamed action>' : 'Reaction'}"; ` +
      `name it (action('name', fn), reaction(expr, effect, { name })) or use the traced variants from @tenantlens/web-sdk/mobx.`,
  );
}
