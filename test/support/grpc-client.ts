import { Client, credentials, Metadata, status, type ChannelOptions } from '@grpc/grpc-js';
import { retryDelayOf } from '../../gateway/src/grpc/status.ts';

/**
 * A raw OTLP/gRPC client for the tests: request bytes in, status (and RetryInfo) out, with no
 * serializer of its own, so garbage and hand-made messages reach the gateway as they are.
 */
export const EXPORT_PATHS = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
} as const;

export interface CallResult {
  readonly code: number;
  readonly details: string;
  /** The response message's bytes on OK. */
  readonly response: Buffer | undefined;
  /** RetryInfo's delay in seconds, when the status carried one. */
  readonly retryDelaySeconds: number | undefined;
}

export interface RawGrpcClient {
  call(path: string, body: Buffer, metadata?: Record<string, string>): Promise<CallResult>;
  close(): void;
}

const identity = (b: Buffer): Buffer => b;

export function createRawGrpcClient(address: string, options: ChannelOptions = {}): RawGrpcClient {
  const client = new Client(address, credentials.createInsecure(), options);
  return {
    call(path, body, metadata = {}) {
      const md = new Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      return new Promise((resolve) => {
        client.makeUnaryRequest(path, identity, identity, body, md, { deadline: Date.now() + 20_000 }, (err, response) => {
          if (err === null) {
            resolve({ code: status.OK, details: '', response, retryDelaySeconds: undefined });
            return;
          }
          const details = err.metadata?.get('grpc-status-details-bin')[0];
          resolve({ code: err.code, details: err.details, response: undefined, retryDelaySeconds: Buffer.isBuffer(details) ? retryDelayOf(details) : undefined });
        });
      });
    },
    close: () => client.close(),
  };
}

/**
 * What an OTLP/gRPC exporter that follows the spec does (opentelemetry-proto
 * docs/specification.md "OTLP/gRPC Throttling"): UNAVAILABLE is retried, RESOURCE_EXHAUSTED only
 * with RetryInfo, each after RetryInfo's delay. Resolves with the final result and the attempts.
 */
export async function exportWithRetry(client: RawGrpcClient, path: string, body: Buffer, metadata: Record<string, string>, deadlineMs = 60_000): Promise<CallResult & { attempts: number; retryDelays: number[] }> {
  const until = Date.now() + deadlineMs;
  const retryDelays: number[] = [];
  for (let attempts = 1; ; attempts++) {
    const r = await client.call(path, body, metadata);
    const retryable = r.code === status.UNAVAILABLE || (r.code === status.RESOURCE_EXHAUSTED && r.retryDelaySeconds !== undefined);
    if (!retryable || Date.now() > until) return { ...r, attempts, retryDelays };
    retryDelays.push(r.retryDelaySeconds ?? 1);
    await new Promise((res) => setTimeout(res, (r.retryDelaySeconds ?? 1) * 1000));
  }
}
