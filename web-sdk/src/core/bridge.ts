import { trace, type Tracer } from '@opentelemetry/api';

/**
 * How the MobX and React bindings reach the tracer without importing the setup module (and so
 * without pulling the whole OpenTelemetry SDK into the `./mobx` bundle).
 *
 * `startTenantlens()` installs its tracer here. Without it the bindings use the global
 * OpenTelemetry API, so they also work in an app that configured OpenTelemetry itself.
 */
export const BRIDGE_SCOPE = '@tenantlens/web-sdk/mobx';

let installed: Tracer | undefined;
let fallback: Tracer | undefined;

export function setBridgeTracer(tracer: Tracer | undefined): void {
  installed = tracer;
}

export function bridgeTracer(): Tracer {
  if (installed !== undefined) return installed;
  // A ProxyTracer: resolves to whatever provider the app registers, once it does.
  fallback ??= trace.getTracer(BRIDGE_SCOPE);
  return fallback;
}
