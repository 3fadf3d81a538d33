/**
 * The MobX bridge against a real MobX, timed with a fake clock so durations are exact.
 *
 * This file runs as is (MobX 7, development build) and, through modes.test.ts, bundled against
 * the production build of MobX 7 and both builds of MobX 6. `build under test` below proves which
 * build a run really got, so a production run cannot silently test the development build.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import {
  _getGlobalState,
  action,
  isAction,
  isFlow,
  makeAutoObservable,
  observable,
  reaction,
  runInAction,
  spy,
} from 'mobx';
import { setBridgeTracer } from '../src/core/bridge.ts';
import { internalErrorCount, resetWarnings } from '../src/core/report.ts';
import { enterView } from '../src/core/view.ts';
import {
  instrumentMobx,
  isMobxDevelopmentBuild,
  trackTransition,
  tracedAction,
  tracedAutorun,
  tracedFlow,
  tracedReaction,
} from '../src/mobx/index.ts';
import { useFakeClock, type FakeClock } from './support/clock.ts';
import { ms, parentId, startTestTracing, type TestTracing } from './support/tracing.ts';

const PRODUCTION = process.env.NODE_ENV === 'production';

let clock: FakeClock;
let t: TestTracing;
let leaveView: () => void;

beforeEach(() => {
  clock = useFakeClock();
  resetWarnings();
  t = startTestTracing();
  leaveView = enterView('UserListView');
});

afterEach(async () => {
  leaveView();
  await t.shutdown();
  clock.restore();
  mock.restoreAll();
});

/** Lets promise callbacks (flow steps, span ends on settle) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('build under test matches NODE_ENV (and the expected MobX major, when given)', () => {
  assert.equal(isMobxDevelopmentBuild(), !PRODUCTION);
  // spy is the thing a production build compiles away; the bridge must work without it.
  const events: unknown[] = [];
  const warn = mock.method(console, 'warn', () => {});
  const stop = spy((e) => events.push(e));
  runInAction(() => {});
  stop();
  warn.mock.restore();
  assert.equal(events.length > 0, !PRODUCTION, `spy saw ${events.length} events`);
  const major = process.env.TENANTLENS_EXPECT_MOBX_MAJOR;
  if (major !== undefined) assert.equal(String(_getGlobalState().version), major);
});

describe('tracedAction', () => {
  test('one span named after the action, with action_name, view_name, mobx.kind and session_id', async () => {
    const store = observable({ n: 0 });
    const increment = tracedAction('increment', (by: number) => {
      store.n += by;
      return store.n;
    });
    assert.equal(increment(2), 2);
    const span = await t.one('increment');
    assert.deepEqual(span.attributes, {
      action_name: 'increment',
      view_name: 'UserListView',
      'mobx.kind': 'action',
      session_id: t.tl.sessionId,
    });
    assert.match(t.tl.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    assert.equal(parentId(span), undefined);
  });

  test('its duration includes the reactions MobX runs when the action ends', async () => {
    const store = observable({ n: 0 });
    const dispose = reaction(
      () => store.n,
      () => clock.advance(30), // an expensive re-render
      { name: 'render' },
    );
    const increment = tracedAction('increment', () => {
      clock.advance(20);
      store.n++;
    });
    increment();
    dispose();
    assert.equal(ms((await t.one('increment')).duration), 50);
  });

  test('nested traced actions are child spans; the reactions count in the outermost only', async () => {
    const store = observable({ n: 0 });
    const dispose = reaction(() => store.n, () => clock.advance(30), { name: 'render' });
    const inner = tracedAction('inner', () => {
      clock.advance(5);
      store.n++;
    });
    const outer = tracedAction('outer', () => {
      clock.advance(10);
      inner();
    });
    outer();
    dispose();
    const o = await t.one('outer');
    const i = await t.one('inner');
    assert.equal(parentId(i), o.spanContext().spanId);
    assert.equal(i.spanContext().traceId, o.spanContext().traceId);
    assert.equal(ms(i.duration), 5);
    assert.equal(ms(o.duration), 45);
  });

  test('keeps `this`, arguments and return value, and is an action to MobX (makeAutoObservable leaves it alone)', async () => {
    class Store {
      items: string[] = [];
      add = tracedAction('addItem', function (this: Store, item: string) {
        this.items.push(item);
        return this.items.length;
      });
      constructor() {
        makeAutoObservable(this);
      }
    }
    const store = new Store();
    assert.ok(isAction(store.add));
    let renders = 0;
    const dispose = reaction(
      () => store.items.length,
      () => {
        renders++;
        clock.advance(12);
      },
      { name: 'render' },
    );
    assert.equal(store.add.call(store, 'a'), 1);
    dispose();
    assert.deepEqual(store.items, ['a']);
    assert.equal(renders, 1);
    // Had MobX wrapped it in autoAction, the reaction would run after our span ended (0 ms).
    assert.equal(ms((await t.one('addItem')).duration), 12);
  });

  test("the app's exception propagates unchanged and the span records it", async () => {
    const boom = new Error('boom');
    const fail = tracedAction('failing', () => {
      throw boom;
    });
    assert.throws(() => fail(), (e) => e === boom);
    const span = await t.one('failing');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, 'boom');
    assert.equal(span.events[0]?.name, 'exception');
  });

  test('an unnamed action warns once and is called "<unnamed action>"', async () => {
    const warn = mock.method(console, 'warn', () => {});
    const a = tracedAction('', () => 1);
    const b = tracedAction('<unnamed action>', () => 2);
    a();
    b();
    assert.equal(warn.mock.callCount(), 1);
    assert.match(String(warn.mock.calls[0]?.arguments[0]), /traced action has no name/);
    assert.deepEqual(
      (await t.spans()).map((s) => s.name),
      ['<unnamed action>', '<unnamed action>'],
    );
  });
});

describe('tracedFlow', () => {
  test('one span over the whole flow, awaits included; work after a yield is its child', async () => {
    const store = observable({ users: [] as string[], loading: false });
    const network = deferred<string[]>();
    const setUsers = tracedAction('setUsers', (users: string[]) => {
      clock.advance(7);
      store.users = users;
      store.loading = false;
    });
    const load = tracedFlow('loadUsers', function* () {
      store.loading = true;
      clock.advance(5);
      const users = (yield network.promise) as string[];
      setUsers(users);
      return users.length;
    });
    assert.ok(isFlow(load));
    const promise = load();
    clock.advance(100); // the request is in flight
    network.resolve(['ada', 'grace']);
    assert.equal(await promise, 2);
    await settle();
    const flowSpan = await t.one('loadUsers');
    const child = await t.one('setUsers');
    assert.equal(ms(flowSpan.duration), 112);
    assert.deepEqual(flowSpan.attributes, {
      action_name: 'loadUsers',
      view_name: 'UserListView',
      'mobx.kind': 'flow',
      session_id: t.tl.sessionId,
    });
    assert.equal(parentId(child), flowSpan.spanContext().spanId);
  });

  test('reactions caused by a step after a yield are children of the flow span', async () => {
    const store = observable({ users: [] as string[] });
    const network = deferred<string[]>();
    const dispose = tracedReaction(
      'renderUsers',
      () => store.users.length,
      () => clock.advance(3),
    );
    const load = tracedFlow('loadUsers', function* () {
      store.users = (yield network.promise) as string[]; // runs in a MobX action started by MobX
    });
    const promise = load();
    network.resolve(['ada']);
    await promise;
    await settle();
    dispose();
    const flowSpan = await t.one('loadUsers');
    const render = await t.one('renderUsers');
    assert.equal(parentId(render), flowSpan.spanContext().spanId);
    assert.equal(ms(render.duration), 3);
  });

  test('a cancelled flow ends its span with mobx.cancelled and runs the finally blocks', async () => {
    let cleanedUp = false;
    const never = deferred<void>();
    const load = tracedFlow('pollUsers', function* () {
      try {
        yield never.promise;
      } finally {
        cleanedUp = true;
      }
    });
    const promise = load();
    clock.advance(8);
    promise.cancel();
    await assert.rejects(promise, /FLOW_CANCELLED/);
    await settle();
    const span = await t.one('pollUsers');
    assert.equal(cleanedUp, true);
    assert.equal(span.attributes['mobx.cancelled'], true);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    assert.equal(ms(span.duration), 8);
  });

  test('a failing flow rejects with the same error and records it', async () => {
    const boom = new Error('server said no');
    const load = tracedFlow('saveUser', function* () {
      yield Promise.resolve();
      throw boom;
    });
    await assert.rejects(load(), (e) => e === boom);
    await settle();
    const span = await t.one('saveUser');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, 'server said no');
  });

  test('errors thrown into the generator can be caught by the app', async () => {
    const load = tracedFlow('retrying', function* () {
      try {
        yield Promise.reject(new Error('first try'));
      } catch {
        return 'recovered';
      }
      return 'not reached';
    });
    assert.equal(await load(), 'recovered');
    await settle();
    assert.equal((await t.one('retrying')).status.code, SpanStatusCode.UNSET);
  });
});

describe('trackTransition', () => {
  test('a span from true to false; attributes() read at the end; later reactions of that flush included', async () => {
    const store = observable({ loading: false, users: [] as string[] });
    const dispose = trackTransition(() => store.loading, {
      action: 'fetchUsers',
      attributes: () => ({ element_count: store.users.length }),
    });
    // Created after the transition, so it runs after it in the same flush: the re-render.
    const render = reaction(() => store.users.length, () => clock.advance(10), { name: 'render' });
    runInAction(() => {
      store.loading = true;
    });
    clock.advance(40);
    runInAction(() => {
      // loading first: the transition's reaction is scheduled before the re-render's
      store.loading = false;
      store.users = ['ada', 'grace', 'linus'];
    });
    await settle();
    dispose();
    render();
    const span = await t.one('fetchUsers');
    assert.equal(ms(span.duration), 50);
    assert.deepEqual(span.attributes, {
      action_name: 'fetchUsers',
      view_name: 'UserListView',
      'mobx.kind': 'transition',
      element_count: 3,
      session_id: t.tl.sessionId,
    });
  });

  test('one span per cycle; `view` overrides the current view; a transition open at dispose is not exported', async () => {
    const store = observable({ loading: false });
    const toggle = action('toggle', (v: boolean) => {
      store.loading = v;
    });
    const dispose = trackTransition(() => store.loading, { action: 'refresh', view: 'Dashboard' });
    for (const wait of [5, 9]) {
      toggle(true);
      clock.advance(wait);
      toggle(false);
      await settle();
    }
    toggle(true);
    clock.advance(3);
    dispose();
    toggle(false);
    await settle();
    const spans = (await t.spans()).filter((s) => s.name === 'refresh');
    assert.deepEqual(
      spans.map((s) => ms(s.duration)),
      [5, 9],
    );
    assert.ok(spans.every((s) => s.attributes.view_name === 'Dashboard'));
  });

  test('starts at once when the expression is already true; a throwing attributes() costs the attribute, not the span', async () => {
    const store = observable({ loading: true });
    const dispose = trackTransition(() => store.loading, {
      action: 'initialLoad',
      attributes: () => {
        throw new Error('bad attributes');
      },
    });
    clock.advance(15);
    const before = internalErrorCount();
    assert.doesNotThrow(() =>
      runInAction(() => {
        store.loading = false;
      }),
    );
    await settle();
    dispose();
    const span = await t.one('initialLoad');
    assert.equal(ms(span.duration), 15);
    assert.equal(span.attributes.element_count, undefined);
    assert.equal(internalErrorCount(), before + 1);
  });
});

describe('tracedReaction and tracedAutorun', () => {
  test('a span per effect run from the expression start, a child of the action that caused it; no span when unchanged', async () => {
    const store = observable({ filter: 'a', other: 0 });
    const dispose = tracedReaction(
      'applyFilter',
      () => {
        clock.advance(2);
        return store.filter;
      },
      () => clock.advance(6),
    );
    const setFilter = tracedAction('setFilter', (f: string) => {
      store.filter = f;
    });
    setFilter('b');
    setFilter('b'); // same value: the expression runs, the effect does not
    dispose();
    const spans = (await t.spans()).filter((s) => s.name === 'applyFilter');
    assert.equal(spans.length, 1);
    const r = spans[0]!;
    assert.equal(r.attributes['mobx.kind'], 'reaction');
    assert.equal(r.attributes.action_name, 'applyFilter');
    assert.equal(ms(r.duration), 8);
    const actions = (await t.spans()).filter((s) => s.name === 'setFilter');
    assert.equal(parentId(r), actions[0]?.spanContext().spanId);
  });

  test('tracedAutorun: a span for the first run and for every rerun', async () => {
    const store = observable({ n: 0 });
    const dispose = tracedAutorun('syncTitle', () => {
      clock.advance(1);
      return store.n;
    });
    runInAction(() => store.n++);
    dispose();
    const spans = (await t.spans()).filter((s) => s.name === 'syncTitle');
    assert.equal(spans.length, 2);
    assert.ok(spans.every((s) => s.attributes['mobx.kind'] === 'reaction' && ms(s.duration) === 1));
  });
});

describe('instrumentMobx (reactionScheduler, no spy)', () => {
  test('a flush longer than minDurationMs becomes a mobx.reactions span with the reaction count', async () => {
    const store = observable({ n: 0 });
    const stop = instrumentMobx({ minDurationMs: 16 });
    const r1 = reaction(() => store.n, () => clock.advance(10), { name: 'chart' });
    const r2 = reaction(() => store.n, () => clock.advance(10), { name: 'table' });
    runInAction(() => store.n++); // 20 ms flush: a span
    const fast = reaction(() => store.n * 2, () => {}, { name: 'badge' });
    r1();
    r2();
    runInAction(() => store.n++); // only the fast reaction: no span
    stop();
    const r3 = reaction(() => store.n, () => clock.advance(40), { name: 'late' });
    runInAction(() => store.n++); // switched off: no span
    fast();
    r3();
    const flushes = (await t.spans()).filter((s) => s.name === 'mobx.reactions');
    assert.equal(flushes.length, 1);
    const f = flushes[0]!;
    assert.equal(ms(f.duration), 20);
    assert.equal(f.attributes['mobx.reactions.count'], 2);
    assert.equal(f.attributes['mobx.kind'], 'reactions');
    assert.equal(f.attributes.view_name, 'UserListView');
    // Names come from spy, which only development builds have.
    assert.deepEqual(f.attributes['mobx.reactions.names'], PRODUCTION ? undefined : ['chart', 'table']);
  });

  test('development builds warn once about unnamed plain MobX actions; production builds stay silent', () => {
    const warn = mock.method(console, 'warn', () => {});
    const stop = instrumentMobx({ minDurationMs: 1_000 });
    const unnamed = action(() => {});
    unnamed();
    unnamed();
    stop();
    assert.equal(warn.mock.callCount(), PRODUCTION ? 0 : 1);
  });
});

describe('minDurationMs and sampling', () => {
  test('a short MobX span costs no export work unless a span started under it; long ones are kept', async () => {
    await t.shutdown();
    t = startTestTracing({ minDurationMs: 10 });
    const fast = tracedAction('fast', () => clock.advance(2));
    const slow = tracedAction('slow', () => clock.advance(12));
    const withChild = tracedAction('fastWithFetch', () => {
      // what the fetch instrumentation does inside an action: a child span whose traceparent
      // reaches the backend; dropping its parent would break the trace
      t.tl.tracer.startSpan('GET').end();
    });
    fast();
    slow();
    withChild();
    const names = (await t.spans()).map((s) => s.name).sort();
    assert.deepEqual(names, ['GET', 'fastWithFetch', 'slow']);
    assert.equal(t.tl.stats().spansBelowMinDuration, 1);
    assert.equal(t.tl.stats().spansDropped, 0);
  });

  test('sampleRate 0: the app runs unchanged and nothing is exported', async () => {
    await t.shutdown();
    t = startTestTracing({ sampleRate: 0 });
    const store = observable({ n: 0 });
    const inc = tracedAction('inc', () => ++store.n);
    const load = tracedFlow('load', function* () {
      yield Promise.resolve();
      return inc();
    });
    assert.equal(inc(), 1);
    assert.equal(await load(), 2);
    await settle();
    assert.deepEqual(await t.spans(), []);
  });
});

describe('telemetry never breaks the app', () => {
  test('a tracer that throws: every traced API still runs the app code', async () => {
    const broken = {
      startSpan() {
        throw new Error('tracer exploded');
      },
    } as unknown as Tracer;
    setBridgeTracer(broken);
    const before = internalErrorCount();
    const store = observable({ n: 0, loading: false });
    const inc = tracedAction('inc', () => ++store.n);
    const load = tracedFlow('load', function* () {
      yield Promise.resolve();
      return inc();
    });
    const dispose = trackTransition(() => store.loading, { action: 't' });
    const r = tracedReaction('r', () => store.n, () => {});
    assert.equal(inc(), 1);
    assert.equal(await load(), 2);
    runInAction(() => {
      store.loading = true;
    });
    runInAction(() => {
      store.loading = false;
    });
    dispose();
    r();
    assert.ok(internalErrorCount() > before);
  });

  test('without startTenantlens the bridge uses the global OpenTelemetry API (a no-op here)', async () => {
    await t.shutdown();
    const inc = tracedAction('inc', (x: number) => x + 1);
    const load = tracedFlow('load', function* () {
      return (yield Promise.resolve(41)) as number;
    });
    assert.equal(inc(1), 2);
    assert.equal(await load(), 41);
    t = startTestTracing();
  });
});
