import { GatewayError } from '../errors.ts';
import type { LogsMapper, MetricsMapper, SignalMapResult } from '../mapping/map-signals.ts';
import type { SpanMapper } from '../mapping/map-spans.ts';
import type { FieldValue, MappedPoint } from '../schema/point.ts';
import type { MappingRules } from '../mapping/rules.ts';
import { decodeTraceRequest, type OtlpEncoding } from '../otlp/decode.ts';
import { decodeLogsRequest, decodeMetricsRequest } from '../otlp/decode-signals.ts';
import { countSpans } from '../otlp/model.ts';
import { DEFAULT_ATTRIBUTE_LIMITS, limitLogsRequest, limitMetricsRequest, limitTraceRequest, type AttributeLimits, type LimitTally } from '../otlp/limits.ts';
import { countDataPoints, countLogRecords } from '../otlp/signals.ts';
import type { LineSink, PointSink } from '../store/store.ts';
import { observePoints, type MeasurementNames, type SpanObservation } from '../rollup/observation.ts';
import { FRONTEND, OVERFLOW_FIELD, TIME } from '../schema/measurements.ts';
import type { TenantRateLimiter } from '../tenancy/rate-limit.ts';
import type { CardinalityGuard } from '../mapping/cardinality-guard.ts';
import type { FieldTypeRegistry } from '../mapping/field-types.ts';
import { beaconIdentity } from './beacon-identity.ts';
import { createJsonTraceLineEncoder } from './json-trace-lines.ts';
import { createProtoTraceLineEncoder } from './proto-trace-lines.ts';
import type { TraceLineEncoder } from './trace-lines/encoder-core.ts';

export interface IngestResult {
  readonly received: number;
  readonly accepted: number;
  readonly rejected: number;
  /** For OTLP `partial_success.error_message`; '' when nothing was refused. */
  readonly message: string;
  readonly rejections: ReadonlyMap<string, number>;
  /** Attributes dropped over ATTRIBUTE_COUNT_LIMIT (or with an over-long key). */
  readonly attributesDropped: number;
  /** Attribute values truncated to ATTRIBUTE_VALUE_LENGTH_LIMIT. */
  readonly valuesTruncated: number;
  /**
   * Which path encoded the request: `fused` (OTLP traces straight to line protocol,
   * ingest/proto-trace-lines.ts and ingest/json-trace-lines.ts) or `reference` (decode → limits →
   * map → buffer). Tests assert on it.
   */
  readonly path: 'fused' | 'reference';
}

export interface IngestDeps {
  readonly mapper: SpanMapper;
  readonly metricsMapper: MetricsMapper;
  readonly logsMapper: LogsMapper;
  readonly rules: MappingRules;
  /** Where mapped points go. */
  readonly sink: PointSink;
  /**
   * Where the fused encoder's lines go: the InfluxDB store's sink, given by main.ts when it writes
   * to InfluxDB; undefined for the embedded store (which takes points only).
   */
  readonly lines?: LineSink | undefined;
  readonly instanceName: string;
  /** Per-tenant spans/s limit; checked after decoding (the span count is needed) and before buffering. */
  readonly rateLimiter?: TenantRateLimiter | undefined;
  /** Demotes over-limit tag values to fields (series cardinality per tenant). */
  readonly cardinalityGuard?: CardinalityGuard | undefined;
  /** Default: the OTel spec's count limit (128) and 16 384 characters per value. */
  readonly attributeLimits?: AttributeLimits | undefined;
  /**
   * The registry the span mapper resolves field types with. Given (and `lines`, and no cardinality
   * guard), OTLP traces (protobuf and JSON) take the fused encoders.
   */
  readonly fieldTypes?: FieldTypeRegistry | undefined;
  /** The per-minute duration sketches (rollup/recorder.ts): told every frontend and backend duration the sink took. */
  readonly rollups?: { record(observations: readonly SpanObservation[]): void } | undefined;
}

export interface Ingest {
  /** decode → map (tenant applied) → encode → buffer. Throws `GatewayError` (400, 503); writes nothing then. */
  traces(body: Uint8Array, encoding: OtlpEncoding, tenantId: string): IngestResult;
  /** `/v1/metrics`: data points, counted as accepted/rejected per data point. */
  metrics(body: Uint8Array, encoding: OtlpEncoding, tenantId: string): IngestResult;
  /** `/v1/logs`: log records. */
  logs(body: Uint8Array, encoding: OtlpEncoding, tenantId: string): IngestResult;
  /** The legacy `/v1/telemetry` beacon. */
  beacon(json: unknown, tenantId: string): IngestResult;
}

function summarize(rejections: ReadonlyMap<string, number>, what: string, tally: LimitTally, limits: AttributeLimits): string {
  const parts = [...rejections].map(([reason, n]) => `${n} ${what}: ${reason}`);
  // OTLP lets a server warn through partial_success with nothing rejected (opentelemetry-proto
  // docs/specification.md, "Partial Success"): the client learns its data was cut.
  if (tally.dropped > 0) parts.push(`${tally.dropped} attribute(s) dropped (over ATTRIBUTE_COUNT_LIMIT=${limits.countLimit} or a key over 1024 characters)`);
  if (tally.truncated > 0) parts.push(`${tally.truncated} attribute value(s) truncated to ATTRIBUTE_VALUE_LENGTH_LIMIT=${limits.valueLengthLimit} characters`);
  return parts.join('; ');
}

const NOTHING_REJECTED: ReadonlyMap<string, number> = new Map();

export function createIngest(deps: IngestDeps): Ingest {
  const limits = deps.attributeLimits ?? DEFAULT_ATTRIBUTE_LIMITS;
  const intake = deps.lines;
  // The guard rewrites mapped points: with one configured, every span takes the reference path.
  const fusedOptions =
    intake === undefined || deps.fieldTypes === undefined || deps.cardinalityGuard !== undefined
      ? undefined
      : { rules: deps.rules, fieldTypes: deps.fieldTypes, slots: intake.slots, instanceName: deps.instanceName, limits, observe: deps.rollups !== undefined, traceIndex: deps.mapper.traceIndex };
  const fused: Readonly<Record<OtlpEncoding, TraceLineEncoder | undefined>> = {
    protobuf: fusedOptions === undefined ? undefined : createProtoTraceLineEncoder(fusedOptions),
    json: fusedOptions === undefined ? undefined : createJsonTraceLineEncoder(fusedOptions),
  };
  const names: MeasurementNames = { frontend: deps.rules.frontend.name, backend: deps.rules.backend.name, spans: deps.rules.spans.name };

  /** After the sink took them (a refused request is retried, and counted then). Before the cardinality guard: the rollup keys are the tags as mapped. */
  function observe(mapped: readonly MappedPoint[]): void {
    if (deps.rollups === undefined) return;
    const out: SpanObservation[] = [];
    observePoints(mapped, names, out);
    if (out.length > 0) deps.rollups.record(out);
  }

  function admitRate(tenantId: string, spans: number): void {
    if (deps.rateLimiter === undefined || spans === 0) return;
    const r = deps.rateLimiter.take(tenantId, spans);
    if (!r.ok) {
      throw new GatewayError('RATE_LIMITED', `tenant "${tenantId}" is over TENANT_RATE_LIMIT; retry after ${r.retryAfterSeconds} s`, { retryAfterSeconds: r.retryAfterSeconds });
    }
  }

  function buffer(tenantId: string, mapped: readonly MappedPoint[]): void {
    const points = deps.cardinalityGuard === undefined ? mapped : deps.cardinalityGuard.apply(tenantId, mapped);
    if (points.length > 0 && !deps.sink.offer(points)) throw deps.sink.refusal();
  }

  function signalResult(tenantId: string, received: number, mapped: SignalMapResult, what: string, tally: LimitTally): IngestResult {
    buffer(tenantId, mapped.points);
    return {
      received,
      accepted: mapped.accepted,
      rejected: mapped.rejected,
      message: summarize(mapped.rejections, what, tally, limits),
      rejections: mapped.rejections,
      attributesDropped: tally.dropped,
      valuesTruncated: tally.truncated,
      path: 'reference',
    };
  }

  return {
    traces(body, encoding, tenantId) {
      const encoder = fused[encoding];
      if (encoder !== undefined && intake !== undefined) {
        // Undefined: something in the request is the reference path's (a span it refuses, a limit, …).
        const r = encoder.encode(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength), tenantId);
        if (r !== undefined) {
          admitRate(tenantId, r.spans);
          if (!intake.offerLines(r)) throw intake.refusal();
          if (r.observations.length > 0) deps.rollups?.record(r.observations);
          return { received: r.spans, accepted: r.spans, rejected: 0, message: '', rejections: NOTHING_REJECTED, attributesDropped: 0, valuesTruncated: 0, path: 'fused' };
        }
      }
      const tally: LimitTally = { dropped: 0, truncated: 0 };
      const req = limitTraceRequest(decodeTraceRequest(body, encoding), limits, tally);
      admitRate(tenantId, countSpans(req));
      const mapped = deps.mapper.map(req, { tenantId, instanceName: deps.instanceName });
      buffer(tenantId, mapped.points);
      observe(mapped.points);
      return {
        received: countSpans(req),
        accepted: mapped.acceptedSpans,
        rejected: mapped.rejectedSpans,
        message: summarize(mapped.rejections, 'span(s)', tally, limits),
        rejections: mapped.rejections,
        attributesDropped: tally.dropped,
        valuesTruncated: tally.truncated,
        path: 'reference',
      };
    },
    metrics(body, encoding, tenantId) {
      const tally: LimitTally = { dropped: 0, truncated: 0 };
      const req = limitMetricsRequest(decodeMetricsRequest(body, encoding), limits, tally);
      return signalResult(tenantId, countDataPoints(req), deps.metricsMapper.map(req, { tenantId, instanceName: deps.instanceName }), 'data point(s)', tally);
    },
    logs(body, encoding, tenantId) {
      const tally: LimitTally = { dropped: 0, truncated: 0 };
      const req = limitLogsRequest(decodeLogsRequest(body, encoding), limits, tally);
      return signalResult(tenantId, countLogRecords(req), deps.logsMapper.map(req, { tenantId, instanceName: deps.instanceName }), 'log record(s)', tally);
    },
    beacon(json, tenantId) {
      const records = Array.isArray(json) ? json : [json];
      if (records.length === 0 || records.length > 1000) throw new GatewayError('MALFORMED_BODY', 'expected a beacon object or an array of 1–1000 of them');
      const points = records.map((r, i) => beaconPoint(r, i, tenantId, deps));
      admitRate(tenantId, points.length);
      buffer(tenantId, points);
      observe(points);
      return { received: points.length, accepted: points.length, rejected: 0, message: '', rejections: new Map(), attributesDropped: 0, valuesTruncated: 0, path: 'reference' };
    },
  };
}

const MAX_METRICS = 64;
/** A beacon writes frontend_performance: its integer fields keep their type, its other fields are the gateway's. */
const BEACON_INTEGERS: ReadonlySet<string> = new Set(FRONTEND.fields.filter((f) => f.type === 'integer').map((f) => f.name));
// Its tags too: a field of a tag's name is refused by InfluxDB 3 (and the overflow field is the column budget's).
const BEACON_RESERVED: ReadonlySet<string> = new Set([TIME, OVERFLOW_FIELD, ...FRONTEND.tags, ...FRONTEND.fields.filter((f) => f.type !== 'integer').map((f) => f.name)]);

function beaconPoint(raw: unknown, i: number, tenantId: string, deps: IngestDeps): MappedPoint {
  const at = `beacon[${i}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new GatewayError('MALFORMED_BODY', `${at}: expected an object`);
  const b = raw as Record<string, unknown>;
  const text = (k: string, required: boolean): string => {
    const v = b[k];
    if (v === undefined || v === null) {
      if (required) throw new GatewayError('MALFORMED_BODY', `${at}.${k}: required string missing`);
      return '';
    }
    if (typeof v !== 'string' || v.length > 256) throw new GatewayError('MALFORMED_BODY', `${at}.${k}: expected a string of at most 256 characters`);
    return v;
  };
  const identity = beaconIdentity(b, at);
  const sessionId = text('sessionId', true);
  const viewName = text('viewName', true);
  const actionName = text('actionName', false);
  const metrics = b.metrics;
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) throw new GatewayError('MALFORMED_BODY', `${at}.metrics: expected an object of numbers`);
  const entries = Object.entries(metrics as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_METRICS) throw new GatewayError('MALFORMED_BODY', `${at}.metrics: expected 1–${MAX_METRICS} entries`);
  const fields: Array<readonly [string, FieldValue]> = [];
  for (const [k, v] of entries) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new GatewayError('MALFORMED_BODY', `${at}.metrics.${k}: must be a finite number`);
    if (BEACON_INTEGERS.has(k)) {
      if (v < 0) throw new GatewayError('MALFORMED_BODY', `${at}.metrics.${k}: must not be negative`);
      fields.push([k, { type: 'integer', value: Math.round(v) }]);
    } else if (BEACON_RESERVED.has(k)) {
      throw new GatewayError('MALFORMED_BODY', `${at}.metrics.${k}: is a reserved field name`);
    } else {
      fields.push([k, { type: 'float', value: v }]);
    }
  }
  fields.push(['gateway_instance', { type: 'string', value: deps.instanceName }]);
  const tags: Array<[string, string]> = [
    ['action_name', actionName],
    ['session_id', sessionId],
    ['tenant_id', tenantId],
    ['view_name', viewName],
  ];
  return {
    spanId: identity.id,
    point: { measurement: deps.rules.frontend.name, tags, fields, timestamp: identity.timestampNs },
  };
}
