/**
 * Span attribute keys the SDK writes. They are the gateway's own tag names (see the root README's
 * data model), not the `session.id` / `view.name` semantic-convention spellings, so a span needs
 * no alias table to land in `frontend_performance`.
 */
export const ATTR_SESSION_ID = 'session_id';
export const ATTR_VIEW_NAME = 'view_name';
export const ATTR_ACTION_NAME = 'action_name';
export const ATTR_ELEMENT_COUNT = 'element_count';
/** `action`, `flow`, `transition`, `reaction` or `reactions` (a whole reaction flush). */
export const ATTR_MOBX_KIND = 'mobx.kind';
/** On `mobx.reactions` spans: reactions queued when the flush started. */
export const ATTR_MOBX_REACTION_COUNT = 'mobx.reactions.count';
/** On `mobx.reactions` spans, development builds of MobX only: the names of the reactions that ran. */
export const ATTR_MOBX_REACTION_NAMES = 'mobx.reactions.names';
/** On flow spans that were cancelled with `promise.cancel()`. */
export const ATTR_MOBX_CANCELLED = 'mobx.cancelled';

export type MobxKind = 'action' | 'flow' | 'transition' | 'reaction' | 'reactions';
/** On MobX spans: milliseconds of long tasks that overlapped the span (the main thread was blocked). */
export const ATTR_BLOCKED_MS = 'blocked_ms';
/** On MobX spans: how many long tasks overlapped the span. */
export const ATTR_LONG_TASKS = 'long_tasks';
/** On MobX spans, where the browser has long animation frames: the longest blocking script. */
export const ATTR_BLOCKED_SCRIPT = 'blocked.script';
