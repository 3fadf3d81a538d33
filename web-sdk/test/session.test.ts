import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SESSION_STORAGE_KEY } from '../src/index.ts';
import { createSession, type SessionStorageLike } from '../src/setup/session.ts';
import { EPOCH_MS, useFakeClock, type FakeClock } from './support/clock.ts';
import { installDom, type TestDom } from './support/dom.ts';
import { startTestTracing } from './support/tracing.ts';

const MIN = 60_000;

class MemoryStorage implements SessionStorageLike {
  readonly data = new Map<string, string>();
  writes = 0;
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.writes++;
    this.data.set(key, value);
  }
  stored(key = 'k'): { id: string; startedAt: number; lastActivity: number } {
    return JSON.parse(this.data.get(key) ?? 'null') as { id: string; startedAt: number; lastActivity: number };
  }
}

let clock: FakeClock;
beforeEach(() => {
  clock = useFakeClock();
});
afterEach(() => clock.restore());

const make = (storage: SessionStorageLike | undefined, idleMs = 15 * MIN, maxMs = 240 * MIN) =>
  createSession({ idleMs, maxMs, storage, key: 'k', now: () => Date.now() });

describe('session', () => {
  test('a new session is a 32-hex id, stored with its start and last activity', () => {
    const storage = new MemoryStorage();
    const id = make(storage).id();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.deepEqual(storage.stored(), { id, startedAt: EPOCH_MS, lastActivity: EPOCH_MS });
    assert.notEqual(make(new MemoryStorage()).id(), id, 'ids are random');
  });

  test('a reload (a new instance on the same storage) keeps the session', () => {
    const storage = new MemoryStorage();
    const id = make(storage).id();
    clock.advance(5 * MIN);
    assert.equal(make(storage).id(), id);
  });

  test('rotates after sessionIdleMs without activity, not before', () => {
    const s = make(new MemoryStorage(), 15 * MIN);
    const first = s.id();
    clock.advance(15 * MIN);
    assert.equal(s.id(), first, 'exactly the idle limit is still the same session');
    clock.advance(15 * MIN + 1);
    const second = s.id();
    assert.notEqual(second, first);
    assert.equal(s.peek(), second);
  });

  test('rotates sessionMaxMs after the start even when active all along', () => {
    const s = make(new MemoryStorage(), 15 * MIN, 60 * MIN);
    const first = s.id();
    for (let i = 0; i < 59; i++) {
      clock.advance(MIN);
      assert.equal(s.id(), first);
    }
    clock.advance(MIN);
    assert.notEqual(s.id(), first);
  });

  test('activity is written at most once a second; persist() writes at once, and a reload after idle rotates', () => {
    const storage = new MemoryStorage();
    const s = make(storage);
    const id = s.id();
    const writes = storage.writes;
    for (let i = 0; i < 10; i++) {
      clock.advance(50);
      s.id();
    }
    assert.equal(storage.writes, writes, 'ten spans in 500 ms: no write');
    clock.advance(600);
    s.id();
    assert.equal(storage.writes, writes + 1);
    clock.advance(300);
    s.id();
    s.persist();
    assert.equal(storage.stored().lastActivity, EPOCH_MS + 1_400);
    clock.advance(15 * MIN + 1);
    assert.notEqual(make(storage).id(), id);
  });

  test('storage that throws (sandboxed frame, quota) falls back to memory without throwing', () => {
    const throwing: SessionStorageLike = {
      getItem() {
        throw new Error('SecurityError');
      },
      setItem() {
        throw new Error('QuotaExceededError');
      },
    };
    const s = make(throwing);
    const id = s.id();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(s.id(), id);
    assert.doesNotThrow(() => s.persist());
  });

  test('a corrupt or foreign stored value starts a new session', () => {
    for (const raw of ['{', 'null', '{"id":"x","startedAt":1,"lastActivity":1}', JSON.stringify({ id: 'a'.repeat(32), startedAt: 'yesterday' })]) {
      const storage = new MemoryStorage();
      storage.data.set('k', raw);
      const id = make(storage).id();
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.equal(storage.stored().id, id, raw);
    }
  });

  test('a session stored in the future (clock went back) is replaced', () => {
    const storage = new MemoryStorage();
    storage.data.set('k', JSON.stringify({ id: 'b'.repeat(32), startedAt: EPOCH_MS + 3_600_000, lastActivity: EPOCH_MS + 3_600_000 }));
    assert.notEqual(make(storage).id(), 'b'.repeat(32));
  });
});

describe('session through startTenantlens (sessionStorage of a DOM)', () => {
  let dom: TestDom;
  beforeEach(() => {
    dom = installDom();
  });
  afterEach(() => dom.close());

  test('every span carries the session from sessionStorage; it rotates after sessionIdleMs', async () => {
    const t = startTestTracing({ sessionIdleMs: 10 * MIN });
    try {
      const first = t.tl.sessionId;
      t.tl.tracer.startSpan('a').end();
      clock.advance(9 * MIN);
      t.tl.tracer.startSpan('b').end();
      clock.advance(10 * MIN + 1);
      t.tl.tracer.startSpan('c').end();
      const spans = await t.spans();
      const second = t.tl.sessionId;
      assert.notEqual(second, first);
      assert.deepEqual(
        spans.map((s) => [s.name, s.attributes.session_id]),
        [
          ['a', first],
          ['b', first],
          ['c', second],
        ],
      );
      const stored = JSON.parse(dom.window.sessionStorage.getItem(SESSION_STORAGE_KEY) ?? 'null') as { id: string };
      assert.equal(stored.id, second);
    } finally {
      await t.shutdown();
    }
  });

  test('the page being hidden persists the last activity, so a reload keeps the session', async () => {
    const t = startTestTracing();
    try {
      const id = t.tl.sessionId;
      clock.advance(100);
      t.tl.tracer.startSpan('a').end(); // within the 1 s write throttle: not written yet
      dom.setVisibility('hidden');
      const stored = JSON.parse(dom.window.sessionStorage.getItem(SESSION_STORAGE_KEY) ?? 'null') as { id: string; lastActivity: number };
      assert.equal(stored.id, id);
      assert.equal(stored.lastActivity, EPOCH_MS + 100);
    } finally {
      await t.shutdown();
    }
  });
});
