import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Server, ServerCredentials, status as GrpcStatus, type Metadata, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { GrpcConfig } from '../config.ts';
import { isGatewayError } from '../errors.ts';
import { outcomeOf, type ExportIntake, type ExportOutcome } from '../ingest/export.ts';
import type { SignalDescriptor } from '../ingest/signal-table.ts';
import type { GatewayMetrics } from '../ops/metrics.ts';
import type { TenantResolver } from '../tenancy/resolve-tenant.ts';
import { grpcError } from './status.ts';

/**
 * OTLP/gRPC: the `Export` method of each signal descriptor that names a gRPC service, on
 * @grpc/grpc-js. Messages are not parsed here: an identity deserializer hands the request's bytes
 * to the same export intake as OTLP/HTTP/protobuf (the same decoders, fused encoder, limits, rate
 * limit, buffer and spool), so the two transports cannot store different rows.
 */
export interface GrpcReceiverDeps {
  readonly config: GrpcConfig;
  readonly host: string;
  /** MAX_BODY_BYTES: grpc-js refuses a bigger message before and after decompressing it. */
  readonly maxBodyBytes: number;
  readonly signals: readonly SignalDescriptor[];
  readonly intake: ExportIntake;
  readonly tenants: TenantResolver;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

export interface GrpcReceiver {
  /** Binds GRPC_PORT; resolves with the port (the chosen one for 0). */
  listen(): Promise<number>;
  /** Health says NOT_SERVING; new calls get UNAVAILABLE from the intake (it drains too). */
  startDraining(): void;
  /** Lets calls in flight finish until `deadline` (epoch ms), then cuts the rest. */
  close(deadline: number): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

function exportService(signal: SignalDescriptor & { grpcService: string }): ServiceDefinition {
  return {
    Export: {
      path: `/${signal.grpcService}/Export`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

/**
 * The credential, from metadata, as the HTTP resolver reads headers: `authorization` in jwt mode,
 * the trusted tenant header in header mode. Keys are lower-case in both; binary (-bin) entries
 * carry no credential.
 */
function headersOf(metadata: Metadata): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') headers[key] = value;
  return headers;
}

function credentials(config: GrpcConfig): ServerCredentials {
  if (config.tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(config.tls.certFile), private_key: readFileSync(config.tls.keyFile) }], false);
}

export function createGrpcReceiver(deps: GrpcReceiverDeps): GrpcReceiver {
  const { config, intake, metrics, logger } = deps;
  const server = new Server({
    'grpc.max_receive_message_length': deps.maxBodyBytes,
    ...(config.maxConnectionAgeMillis === undefined
      ? {}
      : { 'grpc.max_connection_age_ms': config.maxConnectionAgeMillis, 'grpc.max_connection_age_grace_ms': config.maxConnectionAgeGraceMillis }),
  });
  // '' is the whole server (what a Kubernetes grpc probe asks by default); each service by name too.
  const served = ['', ...deps.signals.flatMap((s) => (s.grpcService === undefined ? [] : [s.grpcService]))];
  const health = new HealthImplementation(Object.fromEntries(served.map((name) => [name, 'SERVING' as const])));
  health.addToServer(server);

  /** Tenant first (a refusal must not tell an unauthenticated caller about the buffer), then the cheap refusals, then the intake. */
  async function exportCall(signal: SignalDescriptor, call: ServerUnaryCall<Buffer, Buffer>): Promise<ExportOutcome> {
    let tenant: string;
    try {
      tenant = await deps.tenants.resolve(headersOf(call.metadata));
    } catch (err) {
      if (isGatewayError(err)) return outcomeOf(err);
      throw err;
    }
    const refused = intake.refusal();
    if (refused !== undefined) return outcomeOf(refused);
    return intake.export({ signal, body: call.request, encoding: 'protobuf', gzip: false, tenant });
  }

  function answer(signal: SignalDescriptor, outcome: ExportOutcome, callback: sendUnaryData<Buffer>): string {
    if (outcome.kind === 'success') {
      callback(null, signal.response(outcome.result, 'protobuf'));
      return 'OK';
    }
    metrics.requestsRefused.inc({ reason: outcome.error.code, transport: 'grpc' });
    logger.debug({ code: outcome.error.code, why: outcome.error.message, signal: signal.name }, 'gRPC export refused');
    callback(grpcError(outcome.error, outcome.kind === 'retryable' ? outcome.retryAfterSeconds : undefined));
    return GrpcStatus[outcome.error.rpcCode] ?? 'UNKNOWN';
  }

  for (const signal of deps.signals) {
    const service = signal.grpcService;
    if (service === undefined) continue;
    server.addService(exportService({ ...signal, grpcService: service }), {
      Export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) {
        const end = metrics.grpcRequestDuration.startTimer({ signal: signal.name });
        exportCall(signal, call)
          .then((outcome) => end({ code: answer(signal, outcome, callback) }))
          .catch((err: unknown) => {
            // exportCall turns every GatewayError into an outcome; this is a bug, still answered.
            logger.error({ err, signal: signal.name }, 'unhandled error in a gRPC export');
            metrics.requestsRefused.inc({ reason: 'TL_INTERNAL', transport: 'grpc' });
            callback({ code: GrpcStatus.INTERNAL, details: 'internal error' });
            end({ code: 'INTERNAL' });
          });
      },
    });
  }

  return {
    listen() {
      return new Promise((resolve, reject) => {
        server.bindAsync(`${deps.host.includes(':') ? `[${deps.host}]` : deps.host}:${config.port}`, credentials(config), (err, port) => {
          if (err === null) resolve(port);
          else reject(err);
        });
      });
    },
    startDraining() {
      for (const name of served) health.setStatus(name, 'NOT_SERVING');
    },
    close(deadline) {
      return new Promise((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, Math.max(0, deadline - Date.now()));
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
