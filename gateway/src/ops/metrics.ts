import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus series the gateway exposes on /metrics. One registry per gateway instance. */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly spansReceived: Counter<'signal'>;
  readonly spansAccepted: Counter<'signal'>;
  readonly spansRejected: Counter<'reason'>;
  readonly requestsRefused: Counter<'reason' | 'transport'>;
  readonly pointsWritten: Counter;
  readonly writeFailures: Counter<'kind'>;
  readonly linesRejected: Counter<'reason'>;
  readonly writeRetries: Counter<'reason'>;
  readonly fieldTypeConflicts: Counter;
  readonly tagValuesDemoted: Counter<'tag'>;
  readonly attributesDropped: Counter<'signal'>;
  readonly attributeValuesTruncated: Counter<'signal'>;
  readonly requestDuration: Histogram<'route' | 'status'>;
  readonly grpcRequestDuration: Histogram<'signal' | 'code'>;
  readonly spoolRecovered: Counter;
  readonly spoolTruncatedBytes: Counter;
  readonly alertNotifications: Counter<'receiver' | 'outcome'>;
  readonly alertEvaluations: Counter<'outcome'>;
}

export interface MetricGauges {
  bufferLines(): number;
  bufferBytes(): number;
  /** Bytes in SPOOL_DIR (0 without a spool). */
  spoolBytes?(): number;
  alertsFiring?(): number;
}

/** Request latency buckets (seconds), the same for both transports so their histograms compare. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(gauges: MetricGauges, collectDefaults = true): GatewayMetrics {
  const registry = new Registry();
  if (collectDefaults) collectDefaultMetrics({ register: registry, prefix: 'tenantlens_' });
  const registers = [registry];
  new Gauge({ name: 'tenantlens_buffer_lines', help: 'Lines waiting to be written to InfluxDB', registers, collect() { this.set(gauges.bufferLines()); } });
  new Gauge({ name: 'tenantlens_buffer_bytes', help: 'Bytes waiting to be written to InfluxDB (in memory)', registers, collect() { this.set(gauges.bufferBytes()); } });
  new Gauge({ name: 'tenantlens_spool_bytes', help: 'Bytes in the on-disk spool (SPOOL_DIR) not yet deleted', registers, collect() { this.set(gauges.spoolBytes?.() ?? 0); } });
  new Gauge({ name: 'tenantlens_alerts_firing', help: 'Per-tenant P99 alerts currently firing (0 where the evaluator does not run)', registers, collect() { this.set(gauges.alertsFiring?.() ?? 0); } });
  return {
    registry,
    alertNotifications: new Counter({
      name: 'tenantlens_alert_notifications_total',
      help: 'Alert notification attempts by receiver (webhook, alertmanager) and outcome (success, failure, retry, dropped)',
      labelNames: ['receiver', 'outcome'],
      registers,
    }),
    alertEvaluations: new Counter({ name: 'tenantlens_alert_evaluations_total', help: 'Alert evaluations by outcome (ok, error)', labelNames: ['outcome'], registers }),
    spansReceived: new Counter({ name: 'tenantlens_spans_received_total', help: 'Items received in decoded requests, by signal: spans (traces), data points (metrics), log records (logs), beacon records (beacon)', labelNames: ['signal'], registers }),
    spansAccepted: new Counter({ name: 'tenantlens_spans_accepted_total', help: 'Items (spans, metric data points, log records, beacon records) accepted and buffered for writing, by signal', labelNames: ['signal'], registers }),
    spansRejected: new Counter({ name: 'tenantlens_spans_rejected_total', help: 'Spans, data points and log records refused one by one (partial success), by reason', labelNames: ['reason'], registers }),
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
