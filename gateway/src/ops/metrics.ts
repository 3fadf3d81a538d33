import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus series the gateway exposes on /metrics. One registry per gateway instance. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts one request's items under its signal's own series: spans, data points, log records or beacon records. */
  countItems(signal: ItemSignal, counts: ItemCounts): void;
  readonly requestsRefused: Counter<'reason' | 'transport'>;
  readonly pointsWritten: Counter;
  readonly writeFailures: Counter<'kind'>;
  readonly linesRejected: Counter<'reason'>;
  readonly writeRetries: Counter<'reason'>;
  readonly fieldTypeConflicts: Counter;
  readonly attributesOverflowed: Counter<'measurement'>;
  readonly tagValuesDemoted: Counter<'tag'>;
  readonly attributesDropped: Counter<'signal'>;
  readonly attributeValuesTruncated: Counter<'signal'>;
  /** Accepted trace requests by encoding and by the path that encoded them (fused, or reference: handed back or not wired). */
  readonly traceRequestsEncoded: Counter<'encoding' | 'path'>;
  readonly requestDuration: Histogram<'route' | 'status'>;
  readonly grpcRequestDuration: Histogram<'signal' | 'code'>;
  readonly spoolRecovered: Counter;
  readonly spoolTruncatedBytes: Counter;
  readonly alertNotifications: Counter<'receiver' | 'outcome'>;
  readonly alertEvaluations: Counter<'outcome'>;
  readonly alertStateWrites: Counter<'outcome'>;
  readonly alertStateLoads: Counter<'outcome'>;
  /** The per-minute duration rollups (rollup/recorder.ts), by event: flushed (points offered to the store), duplicate (a span id already counted in its minute), refused (a flush the full store refused; retried), forgotten (span ids let go early: a retry of them would count twice). */
  readonly rollups: Counter<'event'>;
}

/** The signals the write routes take. */
export type ItemSignal = 'traces' | 'metrics' | 'logs' | 'beacon';

/** What the ingest counted in one request (ingest/ingest.ts's IngestResult has these). */
export interface ItemCounts {
  readonly received: number;
  readonly accepted: number;
  /** reason → items refused alone (partial success). */
  readonly rejections: ReadonlyMap<string, number>;
}

interface ItemCounters {
  readonly received: { inc(n: number): void };
  readonly accepted: { inc(n: number): void };
  /** Undefined for beacons: a beacon request is taken or refused whole. */
  readonly rejected: Counter<'reason'> | undefined;
}

/**
 * A signal's item counters: `tenantlens_<item>_received_total`, `_accepted_total` and
 * `_rejected_total{reason}`. Spans keep their `signal` label (always `traces`) so queries written
 * when every signal shared these series still select the spans.
 */
function itemCounters(registers: Registry[], item: string, what: string, opts: { signalLabel?: boolean; rejected?: boolean } = {}): ItemCounters {
  const labelNames = opts.signalLabel === true ? ['signal'] : [];
  const received = new Counter({ name: `tenantlens_${item}_received_total`, help: `${what} received in decoded requests`, labelNames, registers });
  const accepted = new Counter({ name: `tenantlens_${item}_accepted_total`, help: `${what} accepted and buffered for writing`, labelNames, registers });
  const rejected = opts.rejected === false ? undefined : new Counter({ name: `tenantlens_${item}_rejected_total`, help: `${what} refused one by one (partial success), by reason`, labelNames: ['reason'], registers });
  if (opts.signalLabel !== true) return { received, accepted, rejected };
  return { received: received.labels({ signal: 'traces' }), accepted: accepted.labels({ signal: 'traces' }), rejected };
}

export interface MetricGauges {
  bufferLines(): number;
  bufferBytes(): number;
  /** Bytes in SPOOL_DIR (0 without a spool). */
  spoolBytes?(): number;
  alertsFiring?(): number;
  /** Attribute fields admitted per measurement (the column budget, mapping/column-budget.ts). */
  attributeFields?(): ReadonlyMap<string, number>;
  /** SPAN_ATTRIBUTE_FIELDS_MAX, when a budget applies. */
  attributeFieldsBudget?(): number | undefined;
}

/** Request latency buckets (seconds), the same for both transports so their histograms compare. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(gauges: MetricGauges, collectDefaults = true): GatewayMetrics {
  const registry = new Registry();
  if (collectDefaults) collectDefaultMetrics({ register: registry, prefix: 'tenantlens_' });
  const registers = [registry];
  new Gauge({ name: 'tenantlens_buffer_lines', help: 'Lines waiting to be written to InfluxDB', registers, collect() { this.set(gauges.bufferLines()); } });
  new Gauge({ name: 'tenantlens_buffer_bytes', help: 'Bytes waiting to be written to InfluxDB (in memory)', registers, collect() { this.set(gauges.bufferBytes()); } });
  // Every worker reads the same claim log: the largest count is the most recent, not their sum.
  new Gauge({
    name: 'tenantlens_attribute_fields',
    help: 'Attribute fields a measurement holds under the column budget (SPAN_ATTRIBUTE_FIELDS_MAX), including type-clash and demoted fields',
    labelNames: ['measurement'],
    aggregator: 'max',
    registers,
    collect() {
      for (const [measurement, n] of gauges.attributeFields?.() ?? []) this.set({ measurement }, n);
    },
  });
  new Gauge({
    name: 'tenantlens_attribute_fields_budget',
    help: 'SPAN_ATTRIBUTE_FIELDS_MAX: attribute fields allowed per measurement (absent on the embedded store)',
    aggregator: 'max',
    registers,
    collect() {
      const max = gauges.attributeFieldsBudget?.();
      if (max !== undefined) this.set(max);
    },
  });
  new Gauge({ name: 'tenantlens_spool_bytes', help: 'Bytes in the on-disk spool (SPOOL_DIR) not yet deleted', registers, collect() { this.set(gauges.spoolBytes?.() ?? 0); } });
  const items: Readonly<Record<ItemSignal, ItemCounters>> = {
    traces: itemCounters(registers, 'spans', 'Spans (traces)', { signalLabel: true }),
    metrics: itemCounters(registers, 'data_points', 'Metric data points'),
    logs: itemCounters(registers, 'log_records', 'Log records'),
    beacon: itemCounters(registers, 'beacon_records', 'Beacon records (/v1/telemetry)', { rejected: false }),
  };
  new Gauge({ name: 'tenantlens_alerts_firing', help: 'Per-tenant P99 alerts currently firing (0 where the evaluator does not run)', registers, collect() { this.set(gauges.alertsFiring?.() ?? 0); } });
  return {
    registry,
    alertNotifications: new Counter({
      name: 'tenantlens_alert_notifications_total',
      help: 'Alert notification attempts by receiver (webhook, alertmanager) and outcome (success, failure, retry, dropped)',
      labelNames: ['receiver', 'outcome'],
      registers,
    }),
    rollups: new Counter({
      name: 'tenantlens_rollup_events_total',
      help: 'Duration rollups by event: flushed (rollup points offered to the store), duplicate (a span already counted in its minute: retry or replay), refused (flush refused by a full store, retried next second), forgotten (span ids let go before ROLLUP_RETRY_WINDOW_MILLIS, past ROLLUP_TRACKED_IDS_MAX)',
      labelNames: ['event'],
      registers,
    }),
    alertEvaluations: new Counter({ name: 'tenantlens_alert_evaluations_total', help: 'Alert evaluations by outcome (ok, error)', labelNames: ['outcome'], registers }),
    alertStateWrites: new Counter({
      name: 'tenantlens_alert_state_writes_total',
      help: 'Alert state writes to the store by outcome (success: buffered for InfluxDB or committed to the embedded store; retryable: refused, written again at the next evaluation)',
      labelNames: ['outcome'],
      registers,
    }),
    alertStateLoads: new Counter({ name: 'tenantlens_alert_state_loads_total', help: 'Start-up reads of the stored alert state by outcome (ok, error: retried at the next interval, no evaluation before)', labelNames: ['outcome'], registers }),
    countItems(signal, counts) {
      const c = items[signal];
      c.received.inc(counts.received);
      c.accepted.inc(counts.accepted);
      if (c.rejected !== undefined) for (const [reason, n] of counts.rejections) c.rejected.inc({ reason }, n);
    },
    requestsRefused: new Counter({ name: 'tenantlens_requests_refused_total', help: 'Requests answered with an error, by reason and transport (http, grpc)', labelNames: ['reason', 'transport'], registers }),
    pointsWritten: new Counter({ name: 'tenantlens_points_written_total', help: 'Points InfluxDB acknowledged', registers }),
    writeFailures: new Counter({ name: 'tenantlens_write_failures_total', help: 'Failed write attempts, by kind (retryable, rejected)', labelNames: ['kind'], registers }),
    linesRejected: new Counter({
      name: 'tenantlens_lines_rejected_total',
      help: "Lines InfluxDB refused as invalid and the gateway dropped, never retried, by reason (InfluxDB's message with names and numbers taken out; at most 32 reasons, then other)",
      labelNames: ['reason'],
      registers,
    }),
    writeRetries: new Counter({ name: 'tenantlens_write_retries_total', help: 'Write retries scheduled, by reason', labelNames: ['reason'], registers }),
    tagValuesDemoted: new Counter({ name: 'tenantlens_tag_values_demoted_total', help: 'Tag values over CARDINALITY_LIMIT written as <tag>__demoted fields instead', labelNames: ['tag'], registers }),
    attributesDropped: new Counter({ name: 'tenantlens_attributes_dropped_total', help: 'Attributes dropped: past ATTRIBUTE_COUNT_LIMIT per resource/span/data point/log record, or with a key over 1024 characters; by signal', labelNames: ['signal'], registers }),
    attributeValuesTruncated: new Counter({ name: 'tenantlens_attribute_values_truncated_total', help: 'Attribute values cut to ATTRIBUTE_VALUE_LENGTH_LIMIT characters, by signal', labelNames: ['signal'], registers }),
    traceRequestsEncoded: new Counter({
      name: 'tenantlens_trace_requests_encoded_total',
      help: 'Accepted OTLP trace requests by encoding (protobuf, json) and the path that encoded them: fused (straight to line protocol) or reference (decode, map, encode: every request when the fused encoders are off or not wired, else the ones they hand back)',
      labelNames: ['encoding', 'path'],
      registers,
    }),
    attributesOverflowed: new Counter({ name: 'tenantlens_attributes_overflowed_total', help: 'Attribute values written into the JSON `attributes` field because their measurement had no column budget left for their field (SPAN_ATTRIBUTE_FIELDS_MAX), by measurement', labelNames: ['measurement'], registers }),
    fieldTypeConflicts: new Counter({ name: 'tenantlens_field_type_conflicts_total', help: 'Attributes written under a <key>__<type> field because the key already had another type', registers }),
    grpcRequestDuration: new Histogram({
      name: 'tenantlens_grpc_request_duration_seconds',
      help: 'OTLP/gRPC Export calls answered by the handler, by signal and gRPC status (OK, INVALID_ARGUMENT, UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE, …)',
      labelNames: ['signal', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    spoolRecovered: new Counter({ name: 'tenantlens_spool_records_recovered_total', help: 'Spool records found at start-up and replayed to InfluxDB', registers }),
    spoolTruncatedBytes: new Counter({ name: 'tenantlens_spool_truncated_bytes_total', help: 'Bytes cut off the spool at start-up: a torn write from a crash (never acknowledged)', registers }),
    requestDuration: new Histogram({
      name: 'tenantlens_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}
