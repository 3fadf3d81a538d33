import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { CHART_DIR } from './support/helm.ts';
import { loadFluxChecker, type FluxChecker } from './support/flux.ts';

/**
 * The chart's Flux task (files/tenant-p99-alert.flux), for InfluxDB 2.x users who prefer
 * server-side tasks, checked by the Flux language server's own parser and type checker
 * (`@influxdata/flux-lsp-browser`, wasm). Not run against an InfluxDB 2.x: none is installed here.
 */
const FILE = join(CHART_DIR, 'files', 'tenant-p99-alert.flux');
let flux: FluxChecker;
let script: string;

before(async () => {
  flux = await loadFluxChecker();
  script = await readFile(FILE, 'utf8');
});

test('the checker itself rejects a syntax error, a type error, an unknown package and a misspelt argument', () => {
  assert.equal(flux.isValidSyntax('from(bucket: "x") |> range(start: -1h)'), true);
  assert.equal(flux.isValidSyntax('from(bucket: "x" |> range(start: -1h)'), false);
  assert.equal(flux.isValidSemantics('x = 1\ny = x + "a"'), false);
  assert.equal(flux.isValidSemantics('import "nope"\nnope.f()'), false);
  assert.equal(flux.isValidSemantics('import "date"\nx = date.sub(d: 5m, frm: now())'), false);
  assert.equal(flux.isValidSemantics('import "date"\nx = date.sub(d: 5m, from: now())'), true);
});

test('tenant-p99-alert.flux parses and type-checks against the Flux standard library', () => {
  assert.equal(flux.isValidSyntax(script), true);
  assert.equal(flux.isValidSemantics(script), true);
});

test('it is a task with the documented settings, on the gateway\'s measurement names', () => {
  const ast = flux.parse(script);
  assert.deepEqual(ast.imports.map((i) => i.path.value).sort(), ['date', 'http', 'join', 'json']);
  const names = ast.body.map((s) => s.id?.name).filter(Boolean);
  for (const n of ['bucket', 'ratio', 'floorMs', 'resolveRatio', 'minSamples', 'webhookURL']) assert.ok(names.includes(n), `${n} is set at the top`);
  assert.match(script, /^option task = \{name: "tenantlens-tenant-p99-alert", every: 5m, offset: 30s\}$/m);
  assert.match(script, /^measurement = "backend_api_latency"$/m);
  assert.match(script, /^field = "latency_ms"$/m);
  assert.match(script, /quantile\(q: 0\.99, method: "exact_selector"/);
});
