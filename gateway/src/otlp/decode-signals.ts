import type { OtlpEncoding } from './decode.ts';
import type { LogsRequest, MetricsRequest } from './signals.ts';
import { logsFromJson, metricsFromJson } from './signals-json.ts';
import { logsFromProtobuf, metricsFromProtobuf } from './signals-protobuf.ts';

/**
 * Decoders for `ExportMetricsServiceRequest` and `ExportLogsServiceRequest`, protobuf and OTLP/JSON,
 * with the same rules as the trace decoder: hex ids, int64 as decimal strings, enums as integers
 * (or their names), unknown fields ignored. Malformed input throws a 400 `GatewayError`.
 */
export function decodeMetricsRequest(body: Uint8Array, encoding: OtlpEncoding): MetricsRequest {
  return encoding === 'protobuf' ? metricsFromProtobuf(body) : metricsFromJson(body);
}

export function decodeLogsRequest(body: Uint8Array, encoding: OtlpEncoding): LogsRequest {
  return encoding === 'protobuf' ? logsFromProtobuf(body) : logsFromJson(body);
}
