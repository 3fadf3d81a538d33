/**
 * What one delivery attempt came to, as a value, never as a thrown error (the opentelemetry-js
 * `ExportResponse` shape, `otlp-exporter-base/src/export-response.ts`):
 * - `success`: the receiver took it;
 * - `retryable`: worth another attempt (network error, throttling, a server error), after the
 *   receiver's `Retry-After` when it gave one;
 * - `failure`: the receiver refused it for good; sending it again would be refused again.
 *
 * `Failure` carries what a caller needs to know about a refusal (the InfluxDB writer: how many
 * lines were dropped).
 */
export type DeliveryOutcome<Failure extends object = object> =
  | { readonly kind: 'success' }
  | { readonly kind: 'retryable'; readonly reason: string; readonly status?: number; readonly retryAfterMillis?: number | undefined }
  | ({ readonly kind: 'failure'; readonly reason: string; readonly status?: number } & Failure);

/**
 * HTTP statuses any receiver means as "try again": 408 (request timeout), 429 (throttled) and
 * every 5xx. Callers that know their receiver widen it (the InfluxDB writer adds 401/403/404,
 * which an operator can fix while the gateway holds the data).
 */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
