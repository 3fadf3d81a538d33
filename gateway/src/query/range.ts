import { GatewayError } from '../errors.ts';
import type { TimeRange } from './model.ts';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `now`, a relative offset like `-15m` / `-1h` / `-7d`, or an ISO-8601 date. Returns epoch ms. */
export function parseTime(value: string, name: string, nowMs: number): number {
  const v = value.trim();
  if (v === 'now') return nowMs;
  const rel = /^-(\d{1,6})([smhdw])$/.exec(v);
  if (rel !== null) return nowMs - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number);
  // Require a date-looking string: Date.parse accepts oddities like "1" that are surely mistakes.
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new GatewayError('BAD_REQUEST', `${name}: expected "now", a relative time like -1h, or an ISO-8601 date; got "${value}"`);
}

/** `from` (default -1h) and `to` (default now) → an ns range; `from` must be before `to`. */
export function parseRange(query: Record<string, unknown>, nowMs = Date.now()): TimeRange {
  const one = (k: string): string | undefined => {
    const v = query[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', `${k}: give it once`);
    return v;
  };
  const from = parseTime(one('from') ?? '-1h', 'from', nowMs);
  const to = parseTime(one('to') ?? 'now', 'to', nowMs);
  if (from >= to) throw new GatewayError('BAD_REQUEST', `from must be before to (${new Date(from).toISOString()} >= ${new Date(to).toISOString()})`);
  return { fromNs: BigInt(Math.floor(from)) * 1_000_000n, toNs: BigInt(Math.floor(to)) * 1_000_000n };
}

export function parseLimit(query: Record<string, unknown>, def = 50, max = 1000): number {
  const v = query.limit;
  if (v === undefined) return def;
  if (typeof v !== 'string' || !/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > max) {
    throw new GatewayError('BAD_REQUEST', `limit: expected a whole number from 1 to ${max}`);
  }
  return Number(v);
}
