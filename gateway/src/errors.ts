/**
 * The error catalogue: every error the HTTP surface can answer with, its status and a stable code.
 * Handlers throw `GatewayError`s; the error middleware turns them into OTLP `google.rpc.Status`
 * bodies (or JSON for non-OTLP routes). Nothing else decides a status code.
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, code: 'TL_BAD_REQUEST' },
  MALFORMED_BODY: { status: 400, code: 'TL_MALFORMED_BODY' },
  UNAUTHENTICATED: { status: 401, code: 'TL_UNAUTHENTICATED' },
  FORBIDDEN: { status: 403, code: 'TL_FORBIDDEN' },
  NOT_FOUND: { status: 404, code: 'TL_NOT_FOUND' },
  BODY_TOO_LARGE: { status: 413, code: 'TL_BODY_TOO_LARGE' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 'TL_UNSUPPORTED_MEDIA_TYPE' },
  RATE_LIMITED: { status: 429, code: 'TL_RATE_LIMITED' },
  BUFFER_FULL: { status: 503, code: 'TL_BUFFER_FULL' },
  // A JWKS outage is a 401 like every token that cannot be verified (issue #7), under its own
  // code so it is told apart from forged tokens in the body and in the refused-requests metric.
  KEYS_UNAVAILABLE: { status: 401, code: 'TL_KEYS_UNAVAILABLE' },
  SPOOL_UNAVAILABLE: { status: 503, code: 'TL_SPOOL_UNAVAILABLE' },
  SHUTTING_DOWN: { status: 503, code: 'TL_SHUTTING_DOWN' },
  UNAVAILABLE: { status: 503, code: 'TL_UNAVAILABLE' },
  INTERNAL: { status: 500, code: 'TL_INTERNAL' },
} as const;

export type ErrorKind = keyof typeof ERRORS;

export class GatewayError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds, sent as `Retry-After` (OTLP clients honour it on 429/503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(kind: ErrorKind, message: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.status = ERRORS[kind].status;
    this.code = ERRORS[kind].code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
