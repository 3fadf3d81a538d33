import { computed, isFlowCancellationError, makeObservable, observableRef, type CancellablePromise } from 'mobx';
import { tracedFlow } from '@tenantlens/web-sdk/mobx';
import { ApiError } from '../api/client.ts';

export type LoadState<T> =
  | { readonly state: 'idle' }
  | { readonly state: 'loading'; readonly previous: T | undefined }
  | { readonly state: 'ready'; readonly value: T }
  | { readonly state: 'error'; readonly status: number; readonly message: string };

/**
 * One piece of remote data with its loading state. Each load is a traced MobX flow named after
 * the data (`loadTenants`, …), so the console's own waits show up as spans in its tenant. A new
 * load cancels the one in flight (a stale answer never overwrites a newer one), and a refresh
 * keeps the previous value on screen instead of flashing a spinner.
 */
export class Loadable<T> {
  current: LoadState<T> = { state: 'idle' };
  private key: string | undefined;
  private pending: CancellablePromise<void> | undefined;
  private readonly flow: (fetcher: () => Promise<T>) => CancellablePromise<void>;

  constructor(readonly name: string) {
    makeObservable<Loadable<T>>(this, { current: observableRef, value: computed, error: computed, loading: computed });
    const self = (): Loadable<T> => this;
    this.flow = tracedFlow(name, function* (fetcher: () => Promise<T>) {
      const cell = self();
      const was = cell.current;
      cell.current = { state: 'loading', previous: was.state === 'ready' ? was.value : was.state === 'loading' ? was.previous : undefined };
      try {
        const value = (yield fetcher()) as T;
        cell.current = { state: 'ready', value };
      } catch (err) {
        if (err instanceof Error && isFlowCancellationError(err)) throw err;
        cell.current = { state: 'error', status: err instanceof ApiError ? err.status : -1, message: (err as Error).message };
      }
    });
  }

  /**
   * Starts a load; resolves when it settles (never rejects: errors land in `current`). `key` names
   * what is asked (range, tenant, …): a refresh of the same key keeps the old value on screen, a
   * new key does not (last hour's numbers must not pose as the last 15 minutes').
   */
  load(key: string, fetcher: () => Promise<T>): Promise<void> {
    this.pending?.cancel();
    if (key !== this.key) this.current = { state: 'idle' };
    this.key = key;
    const p = this.flow(fetcher);
    this.pending = p;
    return p.catch(() => undefined);
  }

  reset(): void {
    this.pending?.cancel();
    this.pending = undefined;
    this.key = undefined;
    this.current = { state: 'idle' };
  }

  /** The value to show: the loaded one, or the previous one while refreshing. */
  get value(): T | undefined {
    const c = this.current;
    return c.state === 'ready' ? c.value : c.state === 'loading' ? c.previous : undefined;
  }

  get error(): { status: number; message: string } | undefined {
    const c = this.current;
    return c.state === 'error' ? { status: c.status, message: c.message } : undefined;
  }

  /** True until the current key has an answer (a first load or a refresh). */
  get loading(): boolean {
    return this.current.state === 'loading' || this.current.state === 'idle';
  }
}
