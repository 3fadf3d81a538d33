import { GatewayError } from '../errors.ts';
import type { OtlpEncoding } from '../otlp/decode.ts';
import { ExportLogsServiceResponse, ExportMetricsServiceResponse, ExportTraceServiceResponse } from '../otlp/proto.ts';
import type { Ingest, IngestResult } from './ingest.ts';

/**
 * One row per signal the gateway takes: everything a transport needs to receive it. The HTTP
 * routes (app.ts) and the gRPC services (grpc/receiver.ts) are generated from this table, and
 * both hand the bytes to the same export intake (export.ts), so a signal is added here, once.
 */
export type SignalName = 'traces' | 'metrics' | 'logs' | 'beacon';

export interface SignalDescriptor {
  /** Also the `signal` label of the item counters (tenantlens_spans_*_total). */
  readonly name: SignalName;
  /** The OTLP/HTTP path. */
  readonly path: string;
  /** Content types taken on HTTP; gRPC is always protobuf. */
  readonly encodings: readonly OtlpEncoding[];
  /**
   * The gRPC service (`opentelemetry.proto.collector.<signal>.v1.<Signal>Service`, method
   * `Export`), or undefined for an HTTP-only signal.
   */
  readonly grpcService: string | undefined;
  /** What one item is called in a partial-success message and the logs. */
  readonly items: string;
  /** Decode → attribute limits → map → buffer. Throws `GatewayError`; writes nothing then. */
  ingest(ingest: Ingest, body: Buffer, encoding: OtlpEncoding, tenant: string): IngestResult;
  /** The success body in `encoding`: the Export…ServiceResponse (partial_success when items were refused or cut). */
  response(result: IngestResult, encoding: OtlpEncoding): Buffer;
}

interface ResponseType {
  encode(message: object): { finish(): Uint8Array };
}

/** The body of a plain success, the same for every request: encoded once. */
const FULL_SUCCESS = { protobuf: Buffer.alloc(0), json: Buffer.from('{}') } as const;

/**
 * OTLP's answer: empty on full success; `partial_success` with the rejected count and a message
 * when items were refused, or with 0 and a message as a warning (attributes cut to the limits),
 * as the spec allows (opentelemetry-proto collector/{trace,metrics,logs}/v1).
 */
function otlpResponse(type: ResponseType, rejectedKey: string): SignalDescriptor['response'] {
  return (result, encoding) => {
    if (result.rejected === 0 && result.message === '') return FULL_SUCCESS[encoding];
    if (encoding === 'protobuf') return Buffer.from(type.encode({ partialSuccess: { [rejectedKey]: result.rejected, errorMessage: result.message } }).finish());
    // int64 is a decimal string in OTLP/JSON.
    return Buffer.from(JSON.stringify({ partialSuccess: { [rejectedKey]: String(result.rejected), errorMessage: result.message } }));
  };
}

const OTLP = ['protobuf', 'json'] as const;

/** An OTLP signal: /v1/<name> over HTTP, `opentelemetry.proto.collector.<service>` over gRPC. */
function otlpSignal(name: 'traces' | 'metrics' | 'logs', service: string, items: string, ingest: SignalDescriptor['ingest'], type: ResponseType, rejectedKey: string): SignalDescriptor {
  return { name, path: `/v1/${name}`, encodings: OTLP, grpcService: `opentelemetry.proto.collector.${service}`, items, ingest, response: otlpResponse(type, rejectedKey) };
}

export const TRACES = otlpSignal('traces', 'trace.v1.TraceService', 'span(s)', (i, body, enc, tenant) => i.traces(body, enc, tenant), ExportTraceServiceResponse, 'rejectedSpans');
export const METRICS = otlpSignal('metrics', 'metrics.v1.MetricsService', 'data point(s)', (i, body, enc, tenant) => i.metrics(body, enc, tenant), ExportMetricsServiceResponse, 'rejectedDataPoints');
export const LOGS = otlpSignal('logs', 'logs.v1.LogsService', 'log record(s)', (i, body, enc, tenant) => i.logs(body, enc, tenant), ExportLogsServiceResponse, 'rejectedLogRecords');

/** The legacy browser beacon: JSON only, HTTP only, answered with the accepted count. */
export const BEACON: SignalDescriptor = {
  name: 'beacon',
  path: '/v1/telemetry',
  encodings: ['json'],
  grpcService: undefined,
  items: 'beacon record(s)',
  ingest(ingest, body, _encoding, tenant) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new GatewayError('MALFORMED_BODY', `invalid JSON: ${(err as Error).message}`);
    }
    return ingest.beacon(json, tenant);
  },
  response: (result) => Buffer.from(JSON.stringify({ accepted: result.accepted })),
};

export const SIGNALS: readonly SignalDescriptor[] = [TRACES, METRICS, LOGS, BEACON];
