import type { Range } from '../api/types.ts';

export const PRESETS = ['15m', '1h', '6h', '24h', '7d'] as const;
export type Preset = (typeof PRESETS)[number];

/** The shared time range: a preset relative to now, or a custom window (ISO-8601 ends). */
export type RangeChoice = { readonly kind: 'preset'; readonly preset: Preset } | { readonly kind: 'custom'; readonly from: string; readonly to: string };

export const DEFAULT_RANGE: RangeChoice = { kind: 'preset', preset: '1h' };

/** Each preset's length, for the custom inputs' starting window. */
export const PRESET_MILLIS: Record<Preset, number> = { '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 };

const PRESET_API: Record<Preset, string> = { '15m': '-15m', '1h': '-1h', '6h': '-6h', '24h': '-24h', '7d': '-7d' };

/** Reads the range from a view's query: `range=1h`, or `from=…&to=…` (custom). */
export function rangeFromQuery(q: URLSearchParams): RangeChoice {
  const from = q.get('from');
  const to = q.get('to');
  if (from !== null && to !== null && from !== '' && to !== '') return { kind: 'custom', from, to };
  const r = q.get('range');
  return (PRESETS as readonly string[]).includes(r ?? '') ? { kind: 'preset', preset: r as Preset } : DEFAULT_RANGE;
}

/** Writes the range into a query (removing any other range form). */
export function rangeToQuery(choice: RangeChoice, q: URLSearchParams): void {
  q.delete('range');
  q.delete('from');
  q.delete('to');
  if (choice.kind === 'custom') {
    q.set('from', choice.from);
    q.set('to', choice.to);
  } else if (DEFAULT_RANGE.kind !== 'preset' || choice.preset !== DEFAULT_RANGE.preset) q.set('range', choice.preset);
}

export function apiRange(choice: RangeChoice): Range {
  return choice.kind === 'custom' ? { from: choice.from, to: choice.to } : { from: PRESET_API[choice.preset], to: 'now' };
}

/**
 * A chart's range: a preset's window ending at the next whole minute (one clock reading), so the
 * gateway's default step (a whole number of minutes from the 1h preset up) gives buckets of whole
 * minutes from a whole minute, which it answers from its per-minute rollups rather than every raw
 * point (docs/performance.md). Custom windows are kept: the picker gives whole minutes already.
 */
export function chartRange(range: Range, nowMs: number): Range {
  const preset = range.to === 'now' ? PRESETS.find((p) => PRESET_API[p] === range.from) : undefined;
  if (preset === undefined) return range;
  const to = Math.ceil(nowMs / 60_000) * 60_000;
  return { from: new Date(to - PRESET_MILLIS[preset]).toISOString(), to: new Date(to).toISOString() };
}

export function rangeKey(choice: RangeChoice): string {
  return choice.kind === 'custom' ? `${choice.from}/${choice.to}` : choice.preset;
}
