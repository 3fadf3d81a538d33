/** Event names, after OpenTelemetry's browser and exception semantic conventions. */
export const EVENT_WEB_VITAL = 'browser.web_vital';
export const EVENT_EXCEPTION = 'exception';

export type EventAttributeValue = string | number | boolean;

/**
 * What `beforeSend` receives: one error or one vital, as it will be sent (URLs already scrubbed,
 * strings already cut to their limits). Change `attributes` to scrub it further.
 */
export interface TenantlensEvent {
  /** `browser.web_vital` or `exception`. */
  readonly name: typeof EVENT_WEB_VITAL | typeof EVENT_EXCEPTION;
  attributes: Record<string, EventAttributeValue>;
}

/**
 * Drops (`null` or `false`) or scrubs an event before it is queued. Returning the event, another
 * one, or nothing (after changing `attributes` in place) sends it. A hook that throws drops the
 * event: sending what the app meant to scrub would be the worse failure.
 */
export type BeforeSend = (event: TenantlensEvent) => TenantlensEvent | null | false | undefined | void;
