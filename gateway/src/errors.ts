/**
 * The error catalogue: every error the gateway can answer with, its HTTP status, its
 * `google.rpc.Code` (the gRPC status, and the `code` of an OTLP/HTTP error body) and a stable code.
 * Handlers throw `GatewayError`s; the HTTP error middleware and the gRPC receiver turn them into
 * their wire form. Nothing else decides a status code.
 *
 * rpc: 3 INVALID_ARGUMENT (never retried), 5 NOT_FOUND, 7 PERMISSION_DENIED, 8 RESOURCE_EXHAUSTED
 * (retried only with RetryInfo), 13 INTERNAL, 14 UNAVAILABLE (retried), 16 UNAUTHENTICATED
 * (opentelemetry-proto docs/specification.md, "OTLP/gRPC Response").
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, rpc: 3, code: 'TL_BAD_REQUEST' },
  MALFORMED_BODY: { status: 400, rpc: 3, code: 'TL_MALFORMED_BODY' },
  UNAUTHENTICATED: { status: 401, rpc: 16, code: 'TL_UNAUTHENTICATED' },
  FORBIDDEN: { status: 403, rpc: 7, code: 'TL_FORBIDDEN' },
  NOT_FOUND: { status: 404, rpc: 5, code: 'TL_NOT_FOUND' },
  BODY_TOO_LARGE: { status: 413, rpc: 3, code: 'TL_BODY_TOO_LARGE' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, rpc: 3, code: 'TL_UNSUPPORTED_MEDIA_TYPE' },
  RATE_LIMITED: { status: 429, rpc: 8, code: 'TL_RATE_LIMITED' },
  BUFFER_FULL: { status: 503, rpc: 14, code: 'TL_BUFFER_FULL' },
  // A JWKS outage is a 401 like every token that cannot be verified (issue #7), under its own
  // code so it is told apart from forged tokens in the body and in the refused-requests metric.
  KEYS_UNAVAILABLE: { status: 401, rpc: 16, code: 'TL_KEYS_UNAVAILABLE' },
  SPOOL_UNAVAILABLE: { status: 503, rpc: 14, code: 'TL_SPOOL_UNAVAILABLE' },
  SHUTTING_DOWN: { status: 503, rpc: 14, code: 'TL_SHUTTING_DOWN' },
  UNAVAILABLE: { status: 503, rpc: 14, code: 'TL_UNAVAILABLE' },
  INTERNAL: { status: 500, rpc: 13, code: 'TL_INTERNAL' },
} as const;

export type ErrorKind = keyof typeof ERRORS;

export class GatewayError extends Error {
  readonly status: number;
  /** `google.rpc.Code`: the gRPC status, and `code` in an OTLP/HTTP error body. */
  readonly rpcCode: number;
  readonly code: string;
  /** Seconds, sent as `Retry-After` (OTLP clients honour it on 429/503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(kind: ErrorKind, message: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.status = ERRORS[kind].status;
    this.rpcCode = ERRORS[kind].rpc;
    this.code = ERRORS[kind].code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * Whether a client should send the same request again later: the HTTP statuses OTLP calls
 * retryable (429, 502, 503, 504; docs/specification.md "Failures"). Every such error in the
 * catalogue carries a delay, so gRPC can send it as RetryInfo (RESOURCE_EXHAUSTED is retried
 * only with one).
 */
export function isRetryable(err: GatewayError): boolean {
  return err.status === 429 || err.status === 502 || err.status === 503 || err.status === 504;
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
