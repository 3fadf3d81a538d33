/**
 * One unit style everywhere: durations in ms (grouped digits), rates in %, times in the viewer's
 * own time zone (the browser's), counts with grouped digits.
 */
const int = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${Math.abs(v) < 10 ? one.format(v) : int.format(v)} ms`;
}

export function fmtGap(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${fmtMs(Math.abs(v))}`;
}

export function fmtPct(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${one.format(rate * 100)} %`;
}

export function fmtCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : int.format(n);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const withSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function fmtTime(micros: number): string {
  return dateTime.format(new Date(micros / 1000));
}

export function fmtIso(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : dateTime.format(new Date(ms));
}

/** Axis labels: seconds for ranges under 15 min (or ticks repeat), clock time within a day, the date beyond. */
export function fmtAxisTime(ms: number, spanMs: number): string {
  return (spanMs > 86_400_000 ? dayTime : spanMs < 900_000 ? withSeconds : timeOnly).format(new Date(ms));
}

export const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A stable colour per series id (a tenant keeps its colour across views); each ≥ 4.5:1 on white. */
const PALETTE = ['#1f5fbf', '#b3261e', '#1b7a3d', '#7d3c98', '#9a4a00', '#a02366', '#2e4a62', '#0f6e63', '#6b5900', '#4a4fbf'];

export function colorFor(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length] as string;
}
