import { episodeId, latestAlertStates, type AlertStateRecord, type AlertStateStore } from '../schema/alert-state.ts';
import { episodeFromRecord, type EpisodeState } from './episode.ts';
import type { Evaluator } from './evaluator.ts';
import { RESOLVED_RETENTION_MILLIS } from './state.ts';

/**
 * A firing alert whose stored fields have not changed is written again this often, so the
 * start-up read (the last RESOLVED_RETENTION + 2 × this) always finds it, however long it fires.
 */
export const STATE_HEARTBEAT_MILLIS = 3_600_000;
/** How far back the start-up read looks: resolved alerts stay listed for RESOLVED_RETENTION. */
export const STATE_LOOKBACK_MILLIS = RESOLVED_RETENTION_MILLIS + 2 * STATE_HEARTBEAT_MILLIS;

export interface StateKeeper {
  /** True once the stored state has been read (the evaluator must not evaluate before: it would fire again what already fires). */
  readonly loaded: boolean;
  /**
   * Reads the stored state into the evaluator. Resolves with the episodes whose last transition
   * was not yet delivered to every receiver (to send again: at-least-once); throws when the store
   * cannot be read (the caller tries again at the next interval).
   */
  load(): Promise<EpisodeState[]>;
  /** A transition a receiver will be told about: stored as not notified until `notified`. */
  pending(episodes: Iterable<EpisodeIdentity>): void;
  notified(episodes: Iterable<EpisodeIdentity>): void;
  /** Writes what changed since the last write (and heartbeats); a failed write is retried at the next call. Never throws: resolves false when the write failed. */
  persist(): Promise<boolean>;
}

/** An episode's transition: its firing and its resolution are notified (and confirmed) apart. */
export type EpisodeIdentity = Pick<EpisodeState, 'tenant' | 'kind' | 'value' | 'sinceMs' | 'state'>;

const transition = (e: EpisodeIdentity): string => `${episodeId(e)}\u0000${e.state}`;

export interface StateKeeperOptions {
  readonly store: AlertStateStore;
  readonly evaluator: Pick<Evaluator, 'episodes' | 'restore'>;
  readonly now?: () => number;
  /** Each write's outcome (counted in /metrics, a failure logged). */
  readonly onWrite: (outcome: 'success' | 'retryable', records: number, reason?: string) => void;
}

/** What a write must carry again when it changes: the fields a restart acts on (p99/count/lastAt are refreshed by the next evaluation). */
function signature(e: Pick<AlertStateRecord, 'state' | 'resolvedAtMs' | 'recoveries' | 'peakP99Ms' | 'baselineMs'>, notified: boolean): string {
  return `${e.state} ${e.resolvedAtMs ?? ''} ${e.recoveries} ${e.peakP99Ms} ${e.baselineMs} ${notified}`;
}

/**
 * Keeps the evaluator's episodes in the store: each transition (fired, resolved), each change a
 * restart acts on (a recovery counted, a new peak, a notification delivered), and an hourly
 * heartbeat of each firing alert. Writes are serialised; one that fails leaves its records dirty,
 * so the next `persist` (the next evaluation) writes them again.
 */
export function createStateKeeper(opts: StateKeeperOptions): StateKeeper {
  const now = opts.now ?? Date.now;
  /** Transitions not yet delivered (absent: delivered, or nothing to deliver). A late confirmation of the firing never marks the resolution delivered. */
  const unnotified = new Set<string>();
  const written = new Map<string, { readonly signature: string; readonly atMs: number }>();
  let loaded = false;
  let chain: Promise<boolean> = Promise.resolve(true);

  async function writeChanged(): Promise<boolean> {
    const at = now();
    const due: AlertStateRecord[] = [];
    const live = new Set<string>();
    for (const e of opts.evaluator.episodes()) {
      const id = episodeId(e);
      live.add(id);
      live.add(transition(e));
      const notified = !unnotified.has(transition(e));
      const sig = signature(e, notified);
      const last = written.get(id);
      if (last?.signature === sig && (e.state === 'resolved' || at - last.atMs < STATE_HEARTBEAT_MILLIS)) continue;
      due.push({ ...e, notified, updatedMs: at });
    }
    // Episodes no longer listed need no more writes: their last record ages out of the start-up read.
    for (const id of written.keys()) if (!live.has(id)) written.delete(id);
    for (const id of unnotified) if (!live.has(id)) unnotified.delete(id);
    if (due.length === 0) return true;
    let result;
    try {
      result = await opts.store.save(due);
    } catch (err) {
      result = { kind: 'retryable' as const, reason: (err as Error).message };
    }
    opts.onWrite(result.kind, due.length, result.kind === 'retryable' ? result.reason : undefined);
    if (result.kind !== 'success') return false;
    for (const r of due) written.set(episodeId(r), { signature: signature(r, r.notified), atMs: at });
    return true;
  }

  return {
    get loaded() {
      return loaded;
    },
    async load() {
      const records = latestAlertStates(await opts.store.load(now() - STATE_LOOKBACK_MILLIS));
      const episodes: EpisodeState[] = [];
      for (const r of records) {
        const e = episodeFromRecord(r);
        if (e === undefined) continue;
        episodes.push(e);
        if (!r.notified) unnotified.add(transition(e));
        written.set(episodeId(r), { signature: signature(e, r.notified), atMs: r.updatedMs });
      }
      opts.evaluator.restore(episodes);
      loaded = true;
      return episodes.filter((e) => unnotified.has(transition(e)));
    },
    pending(episodes) {
      for (const e of episodes) unnotified.add(transition(e));
    },
    notified(episodes) {
      for (const e of episodes) unnotified.delete(transition(e));
    },
    persist() {
      chain = chain.then(writeChanged, writeChanged).catch(() => false);
      return chain;
    },
  };
}
