/**
 * Renders what is derived from the variable table (table.ts) and not executed by the gateway:
 * docs/configuration.md, and the chart's list of names `gateway.env` accepts, which lives in
 * charts/tenantlens/values.schema.json (`gateway.env.propertyNames.enum`).
 *
 * Why the schema and not a file under the chart's files/: helm validates values against
 * values.schema.json before rendering anything, on install, upgrade, template and lint, so an
 * unknown name fails first, naming the key, with no template code; the schema is also where every
 * other value is typed, and editors that read it offer the names as completions.
 *
 * `npm run docs:config` writes both files; gateway/test/config-table.test.ts and
 * test/chart.test.ts render them again and fail when the committed files differ.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChartExposure, VariableSpec } from './spec.ts';
import { VARIABLES } from './table.ts';

export const CONFIG_DOC_PATH = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
export const VALUES_SCHEMA_PATH = fileURLToPath(new URL('../../../charts/tenantlens/values.schema.json', import.meta.url));

/**
 * Not gateway variables, but accepted in `gateway.env` too. NODE_OPTIONS: node's own flags, e.g. a
 * heap limit that bounds RSS under overload (docs/performance.md, Overload).
 */
const CHART_ENV_EXTRAS = ['NODE_OPTIONS'] as const;

const ROWS: readonly VariableSpec[] = VARIABLES;

/** The names `gateway.env` accepts: the table's `chart: { env: true }` rows, then CHART_ENV_EXTRAS. */
export function chartEnvNames(): string[] {
  return [...ROWS.filter((r) => 'env' in r.chart).map((r) => r.name), ...CHART_ENV_EXTRAS];
}

const code = (s: string | number): string => `\`${s}\``;
const MiB = 1024 * 1024;

function bytes(n: number): string {
  if (n >= 1024 * MiB && n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** Milliseconds as the largest unit ALERT_* durations accept that divides them. */
function millis(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function typeCell(r: VariableSpec): string {
  switch (r.kind) {
    case 'int':
      return r.unit === 'bytes' ? `bytes, ${r.min}–${r.max} (${bytes(r.min)}–${bytes(r.max)})` : `integer, ${r.min}–${r.max}`;
    case 'intOrAuto':
      return `integer, ${r.min}–${r.max}, or ${code('auto')}`;
    case 'decimal':
      return `number, ${r.min}–${r.max}`;
    case 'duration':
      return `duration, ${millis(r.minMillis)}–${millis(r.maxMillis)}`;
    case 'flag':
      return `${code('on')}/${code('off')}`;
    case 'enum':
      return r.allowed.map(code).join(', ');
    case 'url':
      return 'http(s) URL';
    case 'header':
      return 'header name';
    case 'list':
      return 'comma-separated list';
    case 'text':
      return r.typeDoc ?? 'text';
  }
}

function defaultCell(r: VariableSpec): string {
  if (r.defaultDoc !== undefined) return r.defaultDoc;
  const d = r.kind === 'url' ? undefined : r.default;
  if (d === undefined) return '—';
  if (r.kind === 'int' && r.unit === 'bytes') return `${code(d as number)} (${bytes(d as number)})`;
  if (r.kind === 'duration') return code(r.defaultText);
  if (r.kind === 'flag') return code(d ? 'on' : 'off');
  if (r.kind === 'list') return code((d as readonly string[]).join(','));
  return code(d as string | number);
}

function chartCell(c: ChartExposure): string {
  if ('value' in c) return c.note === undefined ? code(c.value) : `${code(c.value)} (${c.note})`;
  if ('env' in c) return code('gateway.env');
  if ('set' in c) return `set by the chart: ${c.set}`;
  return `— (${c.none})`;
}

function meaningCell(r: VariableSpec): string {
  const extra = [r.needs === undefined ? '' : ` Needs ${code(r.needs)}.`, r.secret === true ? ' Secret: the chart takes it from a Secret, never a ConfigMap.' : ''];
  return `${r.description}${extra.join('')}`;
}

const escape = (cell: string): string => cell.replace(/\|/g, '\\|');

const INTRO = `# Configuration

<!-- Generated from gateway/src/config/table.ts by \`npm run docs:config\`. Do not edit by hand:
     gateway/test/config-table.test.ts fails when this file and the table disagree. -->

All configuration is environment variables, validated once at start-up. Every variable that is
set is checked against its row below, even one the rest of the configuration makes irrelevant, so
a typo surfaces at once. A bad or missing value prints one message naming the variable, and the
process exits 1. The resulting configuration is frozen. Blank values count as unset.

Column **Chart** says how the Helm chart (\`charts/tenantlens\`) sets the variable: a typed value
in \`values.yaml\`, \`gateway.env\` (\`NAME: "value"\`; only the names marked so, plus
\`NODE_OPTIONS\`, are accepted), or set by the chart itself.

Types: integers are digits only (no sign, exponent or unit); \`on\`/\`off\` also accept \`1\`/\`0\`,
\`true\`/\`false\` and \`yes\`/\`no\`; durations are \`500ms\`, \`30s\`, \`5m\`, \`1h\` or bare seconds; lists
are comma-separated.
`;

const MAPPING = `## \`MAPPING_FILE\`

\`\`\`json
{
  "aliases": { "app.session": "session_id" },
  "measurements": {
    "frontend": { "name": "web_perf", "extraTags": ["app.version"] },
    "backend": { "enabled": false },
    "spans": { "extraTags": ["deployment.environment"] }
  },
  "pinnedFields": ["http.user_agent", "customer.tier"]
}
\`\`\`

Unknown keys, ids as tags (\`trace_id\`, \`span_id\`, …), a tag named like one of the measurement's
fields and duplicate measurement names are refused at start-up with the JSON path of the problem.
\`pinnedFields\` (at most 100) always get a field of their own, whatever the column budget
(\`SPAN_ATTRIBUTE_FIELDS_MAX\`; [data model](data-model.md#a-column-budget)): they count against it,
but are never moved into the \`attributes\` JSON field. In the chart, \`gateway.mapping\` holds this object.
`;

/** The whole of docs/configuration.md. */
export function renderConfigurationDoc(): string {
  const out = [INTRO];
  const groups = [...new Set(ROWS.map((r) => r.group))];
  for (const group of groups) {
    out.push(`## ${group}\n`, '| Variable | Type | Default | Chart | Meaning |', '|---|---|---|---|---|');
    for (const r of ROWS.filter((x) => x.group === group)) {
      out.push(`| ${[code(r.name), typeCell(r), defaultCell(r), chartCell(r.chart), meaningCell(r)].map(escape).join(' | ')} |`);
    }
    out.push('');
  }
  out.push(MAPPING);
  return out.join('\n');
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  description?: string;
  propertyNames?: { enum?: string[] };
  [key: string]: unknown;
}

/** values.schema.json with `gateway.env`'s accepted names (and its description) rendered from the table. */
export function renderValuesSchema(current: string): string {
  const schema = JSON.parse(current) as SchemaNode;
  const env = schema.properties?.gateway?.properties?.env;
  if (env === undefined) throw new Error('values.schema.json has no properties.gateway.properties.env');
  env.description =
    'Other gateway variables, NAME: "value": the names whose Chart column in docs/configuration.md says gateway.env (generated from gateway/src/config/table.ts by npm run docs:config). NODE_OPTIONS takes node flags, e.g. a heap limit that bounds RSS under overload at some cost in throughput (docs/performance.md, Overload).';
  env.propertyNames = { enum: chartEnvNames() };
  // The file is JSON.stringify's 2-space layout already, so only the generated part changes.
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Writes both generated files; returns the paths that changed. */
export async function writeGenerated(): Promise<string[]> {
  const changed: string[] = [];
  const targets: Array<[string, (old: string) => string]> = [
    [CONFIG_DOC_PATH, () => renderConfigurationDoc()],
    [VALUES_SCHEMA_PATH, renderValuesSchema],
  ];
  for (const [path, render] of targets) {
    const old = await readFile(path, 'utf8').catch(() => '');
    const next = render(old);
    if (next !== old) {
      await writeFile(path, next);
      changed.push(path);
    }
  }
  return changed;
}

// `npm run docs:config` runs this file directly.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeGenerated().then(
    (changed) => process.stdout.write(changed.length === 0 ? 'docs:config: up to date\n' : `docs:config: wrote\n${changed.map((f) => `  ${f}`).join('\n')}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
