/**
 * The browsing session: an id kept in sessionStorage (one per tab, survives reloads), rotated
 * after `idleMs` without spans or `maxMs` after it started.
 *
 * Rotation is checked lazily when a span asks for the id, not with timers: timers in background
 * tabs are throttled or frozen, and a check on use is exact however long the tab slept.
 * (OpenTelemetry's experimental web-common SessionManager is timer-based and does not persist the
 * last activity, so a reload after an idle hour would keep the old session; hence this module.)
 */

/** The part of the Web Storage API we use; `sessionStorage` satisfies it. */
export interface SessionStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface SessionOptions {
  readonly idleMs: number;
  readonly maxMs: number;
  /** `undefined` keeps the session in memory only (no DOM, or storage disabled). */
  readonly storage: SessionStorageLike | undefined;
  readonly key: string;
  readonly now: () => number;
}

interface SessionState {
  id: string;
  startedAt: number;
  lastActivity: number;
}

export interface Session {
  /** The id for a span starting now; starts a new session when the current one expired. */
  id(): string;
  /** The id without counting as activity (for `tenantlens.sessionId`). */
  peek(): string;
  /** Writes the last activity to storage now (on page hide), instead of at most once a second. */
  persist(): void;
}

/** How often a span's activity is written back to storage: often enough for 15-minute idle rules. */
const PERSIST_EVERY_MS = 1_000;

export function newSessionId(): string {
  const bytes = new Uint8Array(16);
  const c = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  // getRandomValues exists in insecure contexts too, unlike crypto.randomUUID.
  if (typeof c?.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

function parse(raw: string | null): SessionState | undefined {
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<SessionState> | null;
    if (
      v !== null &&
      typeof v.id === 'string' &&
      /^[0-9a-f]{32}$/.test(v.id) &&
      typeof v.startedAt === 'number' &&
      typeof v.lastActivity === 'number' &&
      Number.isFinite(v.startedAt) &&
      Number.isFinite(v.lastActivity)
    ) {
      return { id: v.id, startedAt: v.startedAt, lastActivity: v.lastActivity };
    }
  } catch {
    // Corrupt or foreign value: start a fresh session below.
  }
  return undefined;
}

export function createSession(opts: SessionOptions): Session {
  let storage = opts.storage;
  let lastPersisted = -Infinity;

  const read = (): SessionState | undefined => {
    if (storage === undefined) return undefined;
    try {
      return parse(storage.getItem(opts.key));
    } catch {
      storage = undefined; // SecurityError in sandboxed frames, disabled storage: memory from now on.
      return undefined;
    }
  };

  let state = read();

  const write = (now: number): void => {
    lastPersisted = now;
    if (storage === undefined || state === undefined) return;
    try {
      storage.setItem(opts.key, JSON.stringify(state));
    } catch {
      storage = undefined; // QuotaExceededError (Safari private mode) and friends.
    }
  };

  const expired = (s: SessionState, now: number): boolean =>
    now - s.lastActivity > opts.idleMs || now - s.startedAt >= opts.maxMs || now < s.startedAt;

  const current = (touch: boolean): string => {
    const now = opts.now();
    if (state === undefined || expired(state, now)) {
      state = { id: newSessionId(), startedAt: now, lastActivity: now };
      write(now);
      return state.id;
    }
    if (touch) {
      state.lastActivity = now;
      if (now - lastPersisted >= PERSIST_EVERY_MS) write(now);
    }
    return state.id;
  };

  return {
    id: () => current(true),
    peek: () => current(false),
    persist: () => write(opts.now()),
  };
}
