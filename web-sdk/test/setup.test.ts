/**
 * startTenantlens: resource and span attributes, views, options, drop counting, page-lifecycle
 * flushes, and the real OTLP/HTTP exporter and fetch instrumentation against local servers.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test';
import { context, trace, type Span } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-web';
import { enterView, getViewName, startTenantlens, type Tenantlens } from '../src/index.ts';
import { resetWarnings } from '../src/core/report.ts';
import { tracedAction, tracedFlow } from '../src/mobx/index.ts';
import { otlpSpans, startCollector, type Collector } from './support/collector.ts';
import { installDom, type TestDom } from './support/dom.ts';
import { startTestTracing } from './support/tracing.ts';

/** An exporter whose outcome each test decides. */
class ScriptedExporter implements SpanExporter {
  batches: ReadableSpan[][] = [];
  constructor(private readonly answer: (spans: ReadableSpan[], cb: (r: ExportResult) => void) => void) {}
  export(spans: ReadableSpan[], cb: (r: ExportResult) => void): void {
    this.batches.push(spans);
    this.answer(spans, cb);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
});
beforeEach(() => resetWarnings());
afterEach(() => {
  mock.restoreAll();
  // Export failures must never surface as unhandled rejections in the app.
  assert.deepEqual(unhandled, []);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('spans, resource and views', () => {
  test('resource has service.name/version and the distro; spans get view_name and session_id', async () => {
    const t = startTestTracing({ serviceVersion: '1.2.3', resourceAttributes: { 'deployment.environment': 'test' } });
    try {
      t.tl.tracer.startSpan('custom').end();
      const leave = enterView('Checkout');
      t.tl.tracer.startSpan('inView').end();
      t.tl.tracer.startSpan('explicit', { attributes: { view_name: 'Override' } }).end();
      leave();
      const [custom, inView, explicit] = await t.spans();
      assert.equal(custom?.attributes.view_name, 'unknown');
      assert.equal(inView?.attributes.view_name, 'Checkout');
      assert.equal(explicit?.attributes.view_name, 'Override', 'a view_name set at start is kept');
      assert.equal(custom?.attributes.session_id, t.tl.sessionId);
      const r = custom?.resource.attributes ?? {};
      assert.equal(r['service.name'], 'test-app');
      assert.equal(r['service.version'], '1.2.3');
      assert.equal(r['deployment.environment'], 'test');
      assert.equal(r['telemetry.distro.name'], '@tenantlens/web-sdk');
    } finally {
      await t.shutdown();
    }
  });

  test('views: the deepest wins, then the latest; leaving restores; defaultViewName while none is entered', async () => {
    const t = startTestTracing({ defaultViewName: 'Shell' });
    try {
      assert.equal(getViewName(), 'Shell');
      const page = enterView('UserListView', 1);
      const modal = enterView('EditUserDialog', 2);
      const sibling = enterView('Sidebar', 1); // entered later but shallower: the dialog stays
      assert.equal(getViewName(), 'EditUserDialog');
      modal();
      modal(); // twice is harmless
      assert.equal(getViewName(), 'Sidebar');
      sibling();
      assert.equal(getViewName(), 'UserListView');
      page();
      assert.equal(getViewName(), 'Shell');
      const warn = mock.method(console, 'warn', () => {});
      enterView('  ')();
      assert.equal(getViewName(), 'Shell');
      assert.equal(warn.mock.callCount(), 1);
    } finally {
      await t.shutdown();
    }
    assert.equal(getViewName(), 'unknown', 'shutdown restores the default');
  });
});

describe('startTenantlens never throws', () => {
  test('bad options warn, name the option and fall back to defaults', async () => {
    const warn = mock.method(console, 'warn', () => {});
    const t = startTestTracing({ sampleRate: 2, minDurationMs: -1, sessionIdleMs: Number.NaN, serviceName: '' });
    try {
      const messages = warn.mock.calls.map((c) => String(c.arguments[0]));
      for (const name of ['sampleRate', 'minDurationMs', 'sessionIdleMs', 'serviceName']) {
        assert.ok(messages.some((m) => m.includes(`option ${name}`)), `${name} in ${messages.join(' | ')}`);
      }
      t.tl.tracer.startSpan('kept').end(); // sampleRate fell back to 1
      const [span] = await t.spans();
      assert.equal(span?.resource.attributes['service.name'], 'unknown_service:web');
    } finally {
      await t.shutdown();
    }
  });

  test('without url or spanExporter: a warning and an instance that traces nothing', async () => {
    const warn = mock.method(console, 'warn', () => {});
    const tl = startTenantlens({ serviceName: 'x' });
    assert.match(String(warn.mock.calls[0]?.arguments[0]), /option url is required/);
    const span = tl.tracer.startSpan('nothing');
    assert.equal(span.isRecording(), false);
    await tl.forceFlush();
    await tl.shutdown();
    assert.equal(tl.stats().spansExported, 0);
  });

  test('a second start returns the running instance; after shutdown a new one starts', async () => {
    const warn = mock.method(console, 'warn', () => {});
    const a = startTestTracing();
    const b = startTenantlens({ serviceName: 'other', spanExporter: a.exporter });
    assert.equal(b, a.tl);
    assert.equal(warn.mock.callCount(), 1);
    await a.shutdown();
    await a.shutdown(); // idempotent
    const c = startTestTracing();
    assert.notEqual(c.tl, a.tl);
    c.tl.tracer.startSpan('again').end();
    assert.deepEqual((await c.spans()).map((s) => s.name), ['again']);
    await c.shutdown();
  });

  test('shutdown unregisters the globals it installed', async () => {
    const t = startTestTracing();
    assert.ok(trace.getTracer('probe').startSpan('probe').isRecording());
    await t.shutdown();
    assert.equal(trace.getTracer('probe').startSpan('probe').isRecording(), false);
    let ran = false;
    context.with(trace.setSpan(context.active(), trace.wrapSpanContext({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 })), () => {
      ran = true;
    });
    assert.ok(ran);
  });
});

describe('drops are counted, failures never reach the app', () => {
  let tl: Tenantlens | undefined;
  afterEach(async () => {
    await tl?.shutdown();
    tl = undefined;
  });

  test('a full queue drops new spans and counts them', async () => {
    const hanging = new ScriptedExporter(() => {}); // the gateway never answers
    tl = startTenantlens({ serviceName: 'x', spanExporter: hanging, maxQueueSize: 3, scheduledDelayMillis: 60_000, exportTimeoutMillis: 200, instrumentFetch: false });
    for (let i = 0; i < 7; i++) tl.tracer.startSpan(`s${i}`).end();
    // 3 spans fill a batch and go to the (hanging) exporter; 3 more wait; the 7th is dropped.
    assert.deepEqual(hanging.batches.map((b) => b.length), [3]);
    const s = tl.stats();
    assert.equal(s.dropped.queueFull, 1);
    assert.equal(s.spansDropped, 1);
    assert.equal(s.spansExported, 0);
  });

  test('failed and throwing exports are counted; the app sees no error', async () => {
    let mode: 'fail' | 'throw' | 'ok' = 'fail';
    const exporter = new ScriptedExporter((_spans, cb) => {
      if (mode === 'throw') throw new Error('exporter bug');
      cb(mode === 'ok' ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error('HTTP 400') });
    });
    tl = startTenantlens({ serviceName: 'x', spanExporter: exporter, instrumentFetch: false });
    const act = tracedAction('save', () => 'saved');
    assert.equal(act(), 'saved');
    await tl.forceFlush();
    assert.equal(tl.stats().dropped.exportFailed, 1);
    assert.equal(tl.stats().lastExportError, 'HTTP 400');
    mode = 'throw';
    assert.equal(act(), 'saved');
    await assert.doesNotReject(tl.forceFlush());
    assert.equal(tl.stats().dropped.exportFailed, 2);
    mode = 'ok';
    act();
    await tl.forceFlush();
    const s = tl.stats();
    assert.equal(s.spansExported, 1);
    assert.equal(s.spansDropped, 2);
    assert.equal(s.lastExportError, undefined);
  });

  test('spans ending after shutdown are counted, not exported', async () => {
    const exporter = new ScriptedExporter((_s, cb) => cb({ code: ExportResultCode.SUCCESS }));
    tl = startTenantlens({ serviceName: 'x', spanExporter: exporter, instrumentFetch: false });
    const late: Span = tl.tracer.startSpan('late');
    await tl.shutdown();
    late.end();
    assert.equal(tl.stats().dropped.afterShutdown, 1);
    assert.equal(exporter.batches.length, 0);
  });
});

describe('page lifecycle (happy-dom)', () => {
  let dom: TestDom;
  beforeEach(() => {
    dom = installDom();
  });
  afterEach(() => dom.close());

  test('visibilitychange→hidden and pagehide (on window) flush the queue; shutdown removes the listeners', async () => {
    const exporter = new ScriptedExporter((_s, cb) => cb({ code: ExportResultCode.SUCCESS }));
    const tl = startTenantlens({ serviceName: 'x', spanExporter: exporter, scheduledDelayMillis: 60_000, instrumentFetch: false });
    tl.tracer.startSpan('beforeHide').end();
    dom.setVisibility('visible'); // not hidden: nothing happens
    assert.equal(exporter.batches.length, 0);
    dom.setVisibility('hidden');
    assert.deepEqual(exporter.batches.map((b) => b.map((s) => s.name)), [['beforeHide']]);
    dom.setVisibility('visible');
    tl.tracer.startSpan('beforePageHide').end();
    dom.pageHide();
    assert.deepEqual(exporter.batches.map((b) => b.map((s) => s.name)), [['beforeHide'], ['beforePageHide']]);
    await tl.shutdown();
    dom.setVisibility('hidden');
    dom.pageHide();
    assert.equal(exporter.batches.length, 2);
  });
});

describe('OTLP/HTTP exporter against a local server (Node transport; the browser fetch transport: test/web-sdk-browser.test.ts)', () => {
  let dom: TestDom;
  let gw: Collector;
  let tl: Tenantlens | undefined;
  beforeEach(async () => {
    dom = installDom(); // a page origin, so the exporter sends a CORS-mode request like a browser
    gw = await startCollector();
  });
  afterEach(async () => {
    await tl?.shutdown();
    tl = undefined;
    await gw.close();
    await dom.close();
  });

  test('spans reach <url>/v1/traces as OTLP/JSON with the headers function’s result, refreshed per export', async () => {
    let token = 0;
    tl = startTenantlens({ url: `${gw.url}/`, serviceName: 'web', headers: async () => ({ Authorization: `Bearer t${++token}`, 'X-Tenant-ID': 'acme' }), instrumentFetch: false });
    tracedAction('first', () => {})();
    await tl.forceFlush();
    tracedAction('second', () => {})();
    await tl.forceFlush();
    const reqs = await gw.waitFor(2);
    assert.deepEqual(reqs.map((r) => [r.method, r.path, r.headers['content-type'], r.headers.authorization, r.headers['x-tenant-id']]), [
      ['POST', '/v1/traces', 'application/json', 'Bearer t1', 'acme'],
      ['POST', '/v1/traces', 'application/json', 'Bearer t2', 'acme'],
    ]);
    const [span] = otlpSpans(reqs[0]!.body);
    assert.equal(span?.name, 'first');
    assert.deepEqual(span?.attributes, { action_name: 'first', view_name: 'unknown', 'mobx.kind': 'action', session_id: tl.sessionId });
    assert.equal(tl.stats().spansExported, 2);
  });

  test('a headers function that fails reuses the last good headers; a hidden page does not call it', async () => {
    let calls = 0;
    tl = startTenantlens({
      url: gw.url,
      serviceName: 'web',
      instrumentFetch: false,
      headers: () => {
        calls++;
        if (calls === 2) throw new Error('token endpoint down');
        return { Authorization: `Bearer t${calls}` };
      },
    });
    for (let i = 0; i < 3; i++) {
      tl.tracer.startSpan(`s${i}`).end();
      await tl.forceFlush();
    }
    dom.setVisibility('hidden'); // flushes nothing new, but exports below must not call headers()
    tl.tracer.startSpan('hidden').end();
    await tl.forceFlush();
    const reqs = await gw.waitFor(4);
    assert.deepEqual(reqs.map((r) => r.headers.authorization), ['Bearer t1', 'Bearer t1', 'Bearer t3', 'Bearer t3']);
    assert.equal(calls, 3);
    assert.equal(tl.stats().headerFailures, 1);
    assert.equal(tl.stats().spansExported, 4);
  });

  test('503 with Retry-After is retried after that many seconds; 400 is not retried and counted', async () => {
    gw.respond((_r, res) => {
      if (gw.requests.length === 1) res.writeHead(503, { 'retry-after': '1' }).end();
      else if (gw.requests.length === 2) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":3,"message":"bad"}');
    });
    tl = startTenantlens({ url: gw.url, serviceName: 'web', instrumentFetch: false });
    tl.tracer.startSpan('retried').end();
    await tl.forceFlush();
    const [first, second] = await gw.waitFor(2);
    assert.ok(second!.at - first!.at >= 900, `retried after ${second!.at - first!.at} ms`);
    assert.equal(tl.stats().spansExported, 1);
    tl.tracer.startSpan('refused').end();
    await tl.forceFlush();
    await sleep(300);
    assert.equal(gw.requests.length, 3, 'a 400 is not retried');
    assert.equal(tl.stats().dropped.exportFailed, 1);
  });

  test('a full default batch of fetch-sized spans fits the 64 KiB keepalive budget', async () => {
    tl = startTenantlens({ url: gw.url, serviceName: 'web-app', serviceVersion: '2024.11.3', instrumentFetch: false });
    const leave = enterView('UserListView');
    for (let i = 0; i < 50; i++) {
      tl.tracer
        .startSpan('GET', {
          attributes: {
            'http.request.method': 'GET',
            'url.full': `https://api.example.com/api/v1/tenants/acme/users?page=${i}&pageSize=50&sort=lastName`,
            'http.response.status_code': 200,
            'server.address': 'api.example.com',
            'server.port': 443,
            action_name: 'loadUsers',
          },
        })
        .end();
    }
    leave();
    await tl.forceFlush();
    const [req] = await gw.waitFor(1);
    assert.equal(otlpSpans(req!.body).length, 50);
    assert.ok(req!.body.length < 60 * 1024, `${req!.body.length} bytes`);
  });
});

describe('fetch instrumentation', () => {
  let dom: TestDom;
  let api: Collector;
  let tl: Tenantlens | undefined;
  beforeEach(async () => {
    dom = installDom();
    api = await startCollector();
  });
  afterEach(async () => {
    await tl?.shutdown();
    tl = undefined;
    await api.close();
    await dom.close();
  });

  test('a fetch inside a traced flow carries traceparent and is the flow span’s child', async () => {
    const exported: ReadableSpan[] = [];
    const exporter = new ScriptedExporter((spans, cb) => {
      exported.push(...spans);
      cb({ code: ExportResultCode.SUCCESS });
    });
    tl = startTenantlens({ serviceName: 'web', spanExporter: exporter, propagateTraceHeaderCorsUrls: [/^http:\/\/127\.0\.0\.1:/] });
    const localhostUrl = api.url.replace('127.0.0.1', 'localhost');
    const load = tracedFlow('loadUsers', function* () {
      yield Promise.resolve(); // the fetch runs in a later step, after an await
      const res = (yield fetch(`${api.url}/api/users`)) as Response;
      yield res.text();
      const other = (yield fetch(`${localhostUrl}/other`)) as Response; // not listed: no traceparent
      yield other.text();
    });
    await load();
    const [listed, unlisted] = await api.waitFor(2);
    await sleep(600); // the instrumentation ends fetch spans after waiting for resource timings
    await tl.forceFlush();
    const flowSpan = exported.find((s) => s.name === 'loadUsers');
    assert.ok(flowSpan);
    const traceparent = String(listed!.headers.traceparent);
    const [, traceId, parentSpanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent) ?? [];
    assert.equal(traceId, flowSpan.spanContext().traceId, traceparent);
    assert.equal(unlisted!.headers.traceparent, undefined);
    const fetchSpan = exported.find((s) => s.spanContext().spanId === parentSpanId);
    assert.ok(fetchSpan, 'the traceparent names the fetch span');
    assert.equal(fetchSpan.parentSpanContext?.spanId, flowSpan.spanContext().spanId);
    assert.equal(fetchSpan.attributes['http.request.method'], 'GET');
    assert.equal(fetchSpan.attributes.session_id, tl.sessionId);
    assert.equal(fetchSpan.attributes.view_name, 'unknown');
  });
});
