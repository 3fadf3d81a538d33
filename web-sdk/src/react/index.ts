/**
 * `@tenantlens/web-sdk/react`: view context and transitions bound to React components. Works with
 * plain components and with `observer` components from mobx-react-lite. `useTrackedTransition`
 * uses the MobX bridge, so this entry needs `mobx` too.
 */
export { TenantlensView, useViewName } from './view.ts';
export type { TenantlensViewProps } from './view.ts';
export { useTrackedTransition } from './transition.ts';
