import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricWithAttribution } from 'web-vitals/attribution';
import type { EventAttributeValue } from './event.ts';

/**
 * The `web-vitals` attribution build, loaded lazily by vitals.ts (a chunk of its own in the
 * app's bundle, off the critical path). It reads buffered performance entries, so loading it
 * after the page has loaded loses nothing.
 */

/** OpenTelemetry's browser web-vital attributes (`browser.web_vital.*`, experimental). */
const P = 'browser.web_vital.';
/** Attribution keys the gateway folds into the `attribution` field. */
export const ATTRIBUTION_PREFIX = `${P}attribution.`;

type Attrs = Record<string, EventAttributeValue>;

/** The attribution that helps most per metric: what to fix, and which phase to fix. */
function attribution(m: MetricWithAttribution): Attrs {
  const a: Record<string, EventAttributeValue | undefined> = {};
  switch (m.name) {
    case 'LCP':
      Object.assign(a, {
        target: m.attribution.target,
        url: m.attribution.url,
        time_to_first_byte: m.attribution.timeToFirstByte,
        resource_load_delay: m.attribution.resourceLoadDelay,
        resource_load_duration: m.attribution.resourceLoadDuration,
        element_render_delay: m.attribution.elementRenderDelay,
      });
      break;
    case 'INP':
      Object.assign(a, {
        interaction_target: m.attribution.interactionTarget,
        interaction_type: m.attribution.interactionType,
        input_delay: m.attribution.inputDelay,
        processing_duration: m.attribution.processingDuration,
        presentation_delay: m.attribution.presentationDelay,
        load_state: m.attribution.loadState,
      });
      break;
    case 'CLS':
      Object.assign(a, {
        largest_shift_target: m.attribution.largestShiftTarget,
        largest_shift_value: m.attribution.largestShiftValue,
        largest_shift_time: m.attribution.largestShiftTime,
        load_state: m.attribution.loadState,
      });
      break;
    case 'FCP':
      Object.assign(a, { time_to_first_byte: m.attribution.timeToFirstByte, first_byte_to_fcp: m.attribution.firstByteToFCP, load_state: m.attribution.loadState });
      break;
    case 'TTFB':
      Object.assign(a, {
        waiting_duration: m.attribution.waitingDuration,
        dns_duration: m.attribution.dnsDuration,
        connection_duration: m.attribution.connectionDuration,
        request_duration: m.attribution.requestDuration,
      });
      break;
  }
  const out: Attrs = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined && v !== '') out[ATTRIBUTION_PREFIX + k] = typeof v === 'number' ? Math.round(v * 1000) / 1000 : v;
  return out;
}

/** A metric's event attributes. */
export function vitalAttributes(m: MetricWithAttribution): Attrs {
  return {
    [`${P}name`]: m.name,
    [`${P}value`]: m.value,
    [`${P}rating`]: m.rating,
    [`${P}delta`]: m.delta,
    [`${P}id`]: m.id,
    [`${P}navigation_type`]: m.navigationType,
    ...attribution(m),
  };
}

/** When the metric happened (performance time): what decides its view. */
function happenedAt(m: MetricWithAttribution): number {
  if (m.name === 'CLS') return m.attribution.largestShiftTime ?? 0;
  if (m.name === 'INP') return m.attribution.interactionTime ?? 0;
  return m.value; // LCP, FCP, TTFB: milliseconds since the navigation started
}

/** Subscribes to the five metrics; each reports once per page view (web-vitals' default). */
export function observeVitals(report: (attributes: Attrs, at: number) => void): void {
  const cb = (m: MetricWithAttribution): void => report(vitalAttributes(m), happenedAt(m));
  onLCP(cb);
  onINP(cb);
  onCLS(cb);
  onFCP(cb);
  onTTFB(cb);
}
