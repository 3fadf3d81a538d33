/**
 * `@tenantlens/web-sdk/mobx`: the MobX bridge, and the only module of the package that imports
 * `mobx`. Production-safe: nothing here depends on `spy` (a no-op in production builds of MobX),
 * which only adds detail in development (see `instrumentMobx`).
 */
export { tracedAction } from './traced-action.ts';
export { tracedFlow } from './traced-flow.ts';
export { trackTransition } from './transition.ts';
export type { TransitionOptions } from './transition.ts';
export { tracedReaction, tracedAutorun } from './reactions.ts';
export { instrumentMobx, isMobxDevelopmentBuild } from './scheduler.ts';
export type { InstrumentMobxOptions } from './scheduler.ts';
