import { startTenantlens } from '@tenantlens/web-sdk';
import { instrumentMobx } from '@tenantlens/web-sdk/mobx';

/**
 * The console traces itself with our own SDK, like any app: its loads (traced flows), MobX
 * reaction flushes and fetches become spans, posted to the gateway's /console/v1/traces, which
 * files them under the console's own tenant whatever the credential. Never throws into the app.
 */
export function startConsoleTelemetry(token: () => string | undefined): void {
  try {
    startTenantlens({
      url: `${location.origin}/console`,
      serviceName: 'tenantlens-console',
      serviceVersion: '0.1.0',
      headers: (): Record<string, string> => {
        const t = token();
        return t === undefined ? {} : { Authorization: `Bearer ${t}` };
      },
      defaultViewName: 'console',
      // Spans only: the gateway takes the console's telemetry at /console/v1/traces and nowhere
      // else, so the SDK's error and web-vital events (sent to <url>/v1/logs) would only 404.
      webVitals: false,
      captureErrors: false,
    });
    instrumentMobx({ minDurationMs: 4 });
  } catch (err) {
    console.warn('tenantlens console telemetry is off:', err);
  }
}
