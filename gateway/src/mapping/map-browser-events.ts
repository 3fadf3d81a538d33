import type { FieldValue, Point } from '../schema/point.ts';
import type { Attribute, AttrValue } from '../otlp/model.ts';
import type { LogRecord } from '../otlp/signals.ts';
import { FRONTEND_ERRORS, WEB_VITALS } from '../schema/measurements.ts';

/**
 * Browser events (OTLP log records with an event name, what `@tenantlens/web-sdk` sends) → their
 * own measurements, with exactly the tags and fields of the data model: a vital or an error is
 * queried by tenant, view and metric/type, not searched for among log lines.
 */
export const WEB_VITALS_MEASUREMENT = WEB_VITALS.name;
export const FRONTEND_ERRORS_MEASUREMENT = FRONTEND_ERRORS.name;

/** OpenTelemetry's browser web-vital event and its attributes (semantic conventions, experimental). */
export const EVENT_WEB_VITAL = 'browser.web_vital';
const VITAL = 'browser.web_vital.';
const ATTRIBUTION = `${VITAL}attribution.`;
/** OpenTelemetry's exception event (`exception.*` attributes). */
export const EVENT_EXCEPTION = 'exception';

type Fields = Array<readonly [string, FieldValue]>;

function text(v: AttrValue | undefined): string {
  if (v === undefined) return '';
  return typeof v.value === 'string' ? v.value : String(v.value);
}

function num(v: AttrValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = v.type === 'int' || v.type === 'double' ? Number(v.value) : v.type === 'string' ? Number(v.value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Record attributes by canonical key (aliases applied); resource attributes are not read. */
function byKey(attrs: readonly Attribute[], aliases: ReadonlyMap<string, string>): Map<string, AttrValue> {
  const m = new Map<string, AttrValue>();
  for (const { key, value } of attrs) m.set(aliases.get(key) ?? key, value);
  return m;
}

/** `browser.web_vital.attribution.*` as one JSON object, keys sorted (the same event, the same text). */
function attributionJson(a: ReadonlyMap<string, AttrValue>): string {
  const out: Record<string, string | number | boolean> = {};
  const keys = [...a.keys()].filter((k) => k.startsWith(ATTRIBUTION)).sort();
  for (const k of keys) {
    const v = a.get(k) as AttrValue;
    // OTLP ints arrive as decimal text (64-bit); in the JSON they are numbers like the doubles.
    out[k.slice(ATTRIBUTION.length)] = v.type === 'int' ? Number(v.value) : (v.value as string | number | boolean);
  }
  return keys.length === 0 ? '' : JSON.stringify(out);
}

export interface BrowserEventInput {
  readonly record: LogRecord;
  readonly service: string;
  readonly tenantId: string;
  readonly timestamp: bigint;
}

function vitalPoint(a: ReadonlyMap<string, AttrValue>, i: BrowserEventInput): Point | undefined {
  const metric = text(a.get(`${VITAL}name`));
  const value = num(a.get(`${VITAL}value`));
  if (metric === '' || value === undefined) return undefined;
  const fields: Fields = [
    ['value', { type: 'float', value }],
    ['session_id', { type: 'string', value: text(a.get('session_id')) }],
    ['navigation_type', { type: 'string', value: text(a.get(`${VITAL}navigation_type`)) }],
    ['attribution', { type: 'string', value: attributionJson(a) }],
  ];
  if (i.record.traceId !== '') fields.push(['trace_id', { type: 'string', value: i.record.traceId }]);
  const tags: Array<[string, string]> = [
    ['metric', metric],
    ['rating', text(a.get(`${VITAL}rating`))],
    ['service_name', i.service],
    ['tenant_id', i.tenantId],
    ['view_name', text(a.get('view_name'))],
  ];
  return { measurement: WEB_VITALS_MEASUREMENT, tags, fields, timestamp: i.timestamp };
}

function errorPoint(a: ReadonlyMap<string, AttrValue>, i: BrowserEventInput): Point {
  const count = num(a.get('exception.count'));
  const fields: Fields = [
    ['message', { type: 'string', value: text(a.get('exception.message')) }],
    ['stack', { type: 'string', value: text(a.get('exception.stacktrace')) }],
    ['count', { type: 'integer', value: BigInt(count !== undefined && count >= 1 && count <= Number.MAX_SAFE_INTEGER ? Math.round(count) : 1) }],
    ['session_id', { type: 'string', value: text(a.get('session_id')) }],
    ['trace_id', { type: 'string', value: i.record.traceId }],
    ['span_id', { type: 'string', value: i.record.spanId }],
    ['action_name', { type: 'string', value: text(a.get('action_name')) }],
  ];
  const tags: Array<[string, string]> = [
    ['error_type', text(a.get('exception.type'))],
    ['service_name', i.service],
    ['tenant_id', i.tenantId],
    ['view_name', text(a.get('view_name'))],
  ];
  return { measurement: FRONTEND_ERRORS_MEASUREMENT, tags, fields, timestamp: i.timestamp };
}

/**
 * The `web_vitals` or `frontend_errors` point for a log record, or undefined: it stays a `logs`
 * row. A vital is the `browser.web_vital` event with a name and a numeric value; an error is the
 * `exception` event from a page, i.e. with a `view_name` (as `frontend_performance` takes spans
 * with one), so a backend's exception logs stay in `logs`.
 */
export function browserEventPoint(i: BrowserEventInput, aliases: ReadonlyMap<string, string>): Point | undefined {
  let name = i.record.eventName;
  if (name !== EVENT_WEB_VITAL && name !== EVENT_EXCEPTION) {
    const attr = i.record.attributes.find((x) => x.key === 'event.name');
    name = attr === undefined ? '' : text(attr.value);
    if (name !== EVENT_WEB_VITAL && name !== EVENT_EXCEPTION) return undefined;
  }
  const a = byKey(i.record.attributes, aliases);
  if (name === EVENT_WEB_VITAL) return vitalPoint(a, i);
  return a.has('view_name') ? errorPoint(a, i) : undefined;
}
