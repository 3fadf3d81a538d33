import type { Attributes } from '@opentelemetry/api';

/**
 * The running instance's hooks behind the module-level `reportError()` and `startNavigation()`,
 * so app code can call them without holding the `startTenantlens()` result. Before start and
 * after shutdown they do nothing.
 */
interface Hooks {
  reportError(error: unknown, attributes?: Attributes): void;
  startNavigation(): void;
}

let hooks: Hooks | undefined;

export function setHooks(h: Hooks | undefined): void {
  hooks = h;
}

/**
 * Records an error you caught yourself, like an uncaught one: `exception.type`, `.message` and
 * `.stacktrace`, the current view and session, the traced action it happened in, and your
 * `attributes`. Never throws.
 */
export function reportError(error: unknown, attributes?: Attributes): void {
  hooks?.reportError(error, attributes);
}

/**
 * Starts a navigation span now (for routers that do not use `history.pushState`, or to time from
 * the click rather than the URL change). It ends at the first paint after the view changes.
 */
export function startNavigation(): void {
  hooks?.startNavigation();
}
