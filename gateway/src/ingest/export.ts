import type { Logger } from 'pino';
import { GatewayError, isGatewayError, isRetryable } from '../errors.ts';
import type { OtlpEncoding } from '../otlp/decode.ts';
import type { GatewayMetrics } from '../ops/metrics.ts';
import type { WriteAdmission } from '../store/store.ts';
import { bodyTooLarge, inflateGzip } from './inflate.ts';
import type { Ingest, IngestResult } from './ingest.ts';
import type { SignalDescriptor } from './signal-table.ts';

/**
 * The transport-neutral entry of the write side: one export request in, one outcome out, as a
 * value (opentelemetry-js `ExportResponse`: success | failure | retryable). OTLP/HTTP (app.ts) and
 * OTLP/gRPC (grpc/receiver.ts) each translate the outcome to their wire form; neither decodes,
 * maps, counts or decides a status on its own.
 */
export interface ExportRequest {
  readonly signal: SignalDescriptor;
  readonly body: Buffer;
  readonly encoding: OtlpEncoding;
  /** True: `body` is gzip, inflated here with MAX_BODY_BYTES applied to the result. */
  readonly gzip: boolean;
  /** Already resolved from the transport's credential (tenancy/), never from the data. */
  readonly tenant: string;
}

export type ExportOutcome =
  /** Stored (acknowledged); `result` carries what partial_success reports. */
  | { readonly kind: 'success'; readonly result: IngestResult }
  /** Never worth sending again as it is (bad data, a limit, an internal error). */
  | { readonly kind: 'failure'; readonly error: GatewayError }
  /** Nothing was stored; the same request may succeed after `retryAfterSeconds`. */
  | { readonly kind: 'retryable'; readonly error: GatewayError; readonly retryAfterSeconds: number };

export interface ExportIntake {
  /**
   * The refusal to answer before reading a body, or undefined: shutting down, or a buffer that
   * would refuse the offer. Transports call it first: reading, inflating and decoding a body only
   * for the offer to fail cost ~10× the refusal itself in the overload bench.
   */
  refusal(): GatewayError | undefined;
  /** inflate → limit → decode → map → buffer (→ spool) → count. Never throws. */
  export(req: ExportRequest): Promise<ExportOutcome>;
  /** SIGTERM: every transport refuses new data with SHUTTING_DOWN from now on. */
  startDraining(): void;
}

export interface ExportIntakeDeps {
  readonly ingest: Ingest;
  readonly admission: WriteAdmission;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
}

/** What every transport answers while the gateway drains (SIGTERM): retry on another replica. */
export function shuttingDown(): GatewayError {
  return new GatewayError('SHUTTING_DOWN', 'gateway is shutting down; retry on another instance', { retryAfterSeconds: 1 });
}

/** A thrown error as an outcome: retryable when OTLP says so, a failure otherwise. */
export function outcomeOf(err: GatewayError): ExportOutcome {
  if (isRetryable(err)) return { kind: 'retryable', error: err, retryAfterSeconds: err.retryAfterSeconds ?? 1 };
  return { kind: 'failure', error: err };
}

export function createExportIntake(deps: ExportIntakeDeps): ExportIntake {
  const { metrics, logger, maxBodyBytes } = deps;
  let draining = false;

  function count(req: ExportRequest, result: IngestResult): void {
    const { signal, tenant } = req;
    const label = { signal: signal.name };
    metrics.countItems(signal.name, result);
    // A fused encoder that hands back what it should take costs only speed: this makes it visible.
    if (signal.name === 'traces') metrics.traceRequestsEncoded.inc({ encoding: req.encoding, path: result.path });
    if (result.attributesDropped > 0) metrics.attributesDropped.inc(label, result.attributesDropped);
    if (result.valuesTruncated > 0) metrics.attributeValuesTruncated.inc(label, result.valuesTruncated);
    if (result.rejected > 0) logger.info({ tenant, signal: signal.name, rejected: result.rejected, why: result.message }, `${signal.items} refused (partial success)`);
  }

  async function run(req: ExportRequest): Promise<IngestResult> {
    const body = req.gzip ? await inflateGzip(req.body, maxBodyBytes) : req.body;
    // Each transport bounds what it reads; this holds the limit for any that did not.
    if (body.length > maxBodyBytes) throw bodyTooLarge(maxBodyBytes);
    const result = req.signal.ingest(deps.ingest, body, req.encoding, req.tenant);
    // With a spool: answer only once the lines are on disk.
    const synced = deps.admission.persisted();
    if (synced !== undefined) await synced;
    return result;
  }

  return {
    refusal() {
      if (draining) return shuttingDown();
      return deps.admission.fullError();
    },
    async export(req) {
      try {
        const result = await run(req);
        count(req, result);
        return { kind: 'success', result };
      } catch (err) {
        if (isGatewayError(err)) return outcomeOf(err);
        logger.error({ err, signal: req.signal.name }, 'unhandled error');
        return { kind: 'failure', error: new GatewayError('INTERNAL', 'internal error') };
      }
    },
    startDraining() {
      draining = true;
    },
  };
}
