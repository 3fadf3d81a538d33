import { warnOnce } from '../core/report.ts';

/**
 * MobX's own fallback names. Production builds drop the `@id` suffix, so every unnamed action
 * of an app becomes the same "<unnamed action>" row on a dashboard.
 */
const MOBX_DEFAULT_NAME = /^(<unnamed [a-z ]+>|(Reaction|Autorun|Flow|ComputedValue)(@\d+)?)$/;

export function isDefaultMobxName(name: string): boolean {
  return MOBX_DEFAULT_NAME.test(name);
}

/**
 * The span name for a traced action, flow, transition or reaction. A missing or MobX-default
 * name is replaced by `<unnamed kind>` with a one-time console warning: function names are no
 * substitute, minifiers rename them.
 */
export function spanNameFor(kind: string, name: unknown): string {
  if (typeof name === 'string') {
    const trimmed = name.trim();
    if (trimmed !== '' && !isDefaultMobxName(trimmed)) return trimmed;
  }
  warnOnce(
    `unnamed:${kind}`,
    `a traced ${kind} has no name, so its spans are called "<unnamed ${kind}>" and cannot be told apart on a dashboard. ` +
      `Give it one, e.g. traced${kind[0]?.toUpperCase() ?? ''}${kind.slice(1)}('loadUsers', …).`,
  );
  return `<unnamed ${kind}>`;
}
