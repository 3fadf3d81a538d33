import { diag } from '@opentelemetry/api';

const warned = new Set<string>();

/**
 * One console warning per key for the lifetime of the page: misuse (an unnamed action, a bad
 * option) should be visible to the developer once, not flood the console on every call.
 */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  try {
    console.warn(`[tenantlens] ${message}`);
  } catch {
    // A console that throws (some embedded webviews) must not break the app either.
  }
}

/**
 * A failure inside the SDK itself. Telemetry must never throw into the host app, so callers
 * catch everything and hand it here; it goes to the OpenTelemetry diag logger (silent unless the
 * app enables it) and a counter the tests read.
 */
export function reportInternalError(where: string, err: unknown): void {
  internalErrors++;
  try {
    diag.warn(`@tenantlens/web-sdk: ${where} failed`, err);
  } catch {
    // diag delegates to an app-provided logger; never let it throw back into us.
  }
}

let internalErrors = 0;

/** Internal errors swallowed so far (all instances on the page). */
export function internalErrorCount(): number {
  return internalErrors;
}

/** Test hook: forget which one-time warnings were already printed. */
export function resetWarnings(): void {
  warned.clear();
}
