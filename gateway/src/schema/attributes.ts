/**
 * The span attributes the mapping reads itself, declared once with their role. Both trace paths
 * (mapping/map-spans.ts and the fused encoder, ingest/fused/) take their key tables from here, so
 * adding a known attribute is one row below plus the line that writes its slot.
 *
 * Every other attribute becomes a typed field of `spans` (mapping/field-types.ts).
 */

/**
 * Where a known attribute's value goes: one slot per span, filled from the resource first, then
 * from the span (a span attribute wins). The numbers index the slot arrays of both paths.
 */
export const SLOT = {
  session: 0,
  service: 1,
  view: 2,
  action: 3,
  element: 4,
  route: 5,
  method: 6,
  status: 7,
  blocked: 8,
  longTasks: 9,
} as const;
export const SLOT_COUNT = 10;

/**
 * - `tag`: a tag value (of the measurements in `writes`);
 * - `id`: a per-user id: a tag of frontend_performance, a field (never a tag) of spans;
 * - `numeric field`: an integer field;
 * - `dropped`: never stored from the payload (the tenant comes from the credential).
 */
export type AttributeRole = 'tag' | 'id' | 'numeric field' | 'dropped';

export interface KnownAttribute {
  /** The canonical key (after aliases). */
  readonly key: string;
  /** Spellings the default mapping renames to `key` (MAPPING_FILE may add more). */
  readonly aliases: readonly string[];
  readonly role: AttributeRole;
  /** SLOT value, or -1 for a dropped attribute. */
  readonly slot: number;
  /** An older semantic-convention name: fills its slot only while the slot's text is still empty. */
  readonly fallback: boolean;
  /** Also stored as a typed field of `spans` under its own key, like any other attribute. */
  readonly alsoField: boolean;
  /** Where it ends up, for readers and docs: `measurement.column`. */
  readonly writes: readonly string[];
  /**
   * The fused trace encoder leaves a request carrying it to the reference path. For rare
   * attributes (a span that blocked the main thread), where a hand-written fast path would cost
   * more code than it saves time.
   */
  readonly handBack: boolean;
}

const known = (key: string, role: AttributeRole, slot: number, writes: readonly string[], opts: { aliases?: string[]; fallback?: boolean; alsoField?: boolean; handBack?: boolean } = {}): KnownAttribute => ({
  key,
  aliases: opts.aliases ?? [],
  role,
  slot,
  fallback: opts.fallback ?? false,
  alsoField: opts.alsoField ?? false,
  writes,
  handBack: opts.handBack ?? false,
});

export const KNOWN_ATTRIBUTES: readonly KnownAttribute[] = [
  known('tenant_id', 'dropped', -1, [], { aliases: ['tenant.id'] }),
  known('session_id', 'id', SLOT.session, ['frontend_performance.session_id (tag)', 'spans.session_id (field)'], { aliases: ['session.id'] }),
  known('service.name', 'tag', SLOT.service, ['frontend_performance.service_name', 'backend_api_latency.service_name', 'spans.service_name']),
  known('view_name', 'tag', SLOT.view, ['frontend_performance.view_name'], { aliases: ['view.name'], alsoField: true }),
  known('action_name', 'tag', SLOT.action, ['frontend_performance.action_name'], { aliases: ['action.name'], alsoField: true }),
  known('element_count', 'numeric field', SLOT.element, ['frontend_performance.element_count'], { aliases: ['element.count'], alsoField: true }),
  // The web SDK's long-task charge on a MobX span (its README, "Long tasks").
  known('blocked_ms', 'numeric field', SLOT.blocked, ['frontend_performance.blocked_ms'], { alsoField: true, handBack: true }),
  known('long_tasks', 'numeric field', SLOT.longTasks, ['frontend_performance.long_tasks'], { alsoField: true, handBack: true }),
  known('http.route', 'tag', SLOT.route, ['backend_api_latency.endpoint (else the span name)'], { alsoField: true }),
  known('http.request.method', 'tag', SLOT.method, ['backend_api_latency.http_method'], { alsoField: true }),
  known('http.method', 'tag', SLOT.method, ['backend_api_latency.http_method'], { fallback: true, alsoField: true }),
  known('http.response.status_code', 'tag', SLOT.status, ['backend_api_latency.status_code'], { alsoField: true }),
  known('http.status_code', 'tag', SLOT.status, ['backend_api_latency.status_code'], { fallback: true, alsoField: true }),
];

/** Canonical key → its declaration. */
export const KNOWN_BY_KEY: ReadonlyMap<string, KnownAttribute> = new Map(KNOWN_ATTRIBUTES.map((a) => [a.key, a]));

/** The default mapping's aliases (alias → canonical key). */
export const DEFAULT_ALIASES: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(KNOWN_ATTRIBUTES.flatMap((a) => a.aliases.map((alias) => [alias, a.key]))));

/**
 * The attribute keys that fill `slot`, the primary first, then its fallbacks (older
 * semantic-convention names). For readers of raw attributes, like the metric rollup.
 */
export function slotKeys(slot: number): readonly string[] {
  const keys = KNOWN_ATTRIBUTES.filter((a) => a.slot === slot);
  return [...keys.filter((a) => !a.fallback), ...keys.filter((a) => a.fallback)].map((a) => a.key);
}
