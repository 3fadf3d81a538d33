/**
 * `@tenantlens/web-sdk`: browser tracing setup. The MobX bridge is `@tenantlens/web-sdk/mobx`,
 * the React bindings `@tenantlens/web-sdk/react`; this entry imports neither MobX nor React.
 */
export { startTenantlens, SESSION_STORAGE_KEY } from './setup/start.ts';
export type { Tenantlens } from './setup/start.ts';
export type { TenantlensOptions } from './setup/options.ts';
export type { HeadersOption } from './setup/exporter.ts';
export type { TenantlensStats } from './setup/stats.ts';
export { enterView, getViewName } from './core/view.ts';
export { reportError, startNavigation } from './setup/api.ts';
export type { BeforeSend, TenantlensEvent, EventAttributeValue } from './events/event.ts';
export type { EventExporter, EventRecord } from './events/emitter.ts';
export {
  ATTR_ACTION_NAME,
  ATTR_BLOCKED_MS,
  ATTR_ELEMENT_COUNT,
  ATTR_LONG_TASKS,
  ATTR_MOBX_KIND,
  ATTR_MOBX_REACTION_COUNT,
  ATTR_SESSION_ID,
  ATTR_VIEW_NAME,
} from './core/attributes.ts';
