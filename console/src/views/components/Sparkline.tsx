import { fmtMs } from '../format.ts';

/** A row's trend: a small line over the shared range, no axes (the table has the numbers). */
export function Sparkline({ points, fromMicros, toMicros, label }: { points: ReadonlyArray<{ t: number; value: number }> | undefined; fromMicros: number; toMicros: number; label: string }) {
  const w = 96;
  const h = 22;
  if (points === undefined || points.length === 0) return <span className="muted">—</span>;
  const max = Math.max(...points.map((p) => p.value), 1);
  const span = Math.max(1, toMicros - fromMicros);
  const xy = points.map((p) => `${(((p.t - fromMicros) / span) * w).toFixed(1)},${(h - 2 - (p.value / max) * (h - 4)).toFixed(1)}`);
  const last = points[points.length - 1];
  return (
    <svg className="sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${label} trend, latest ${fmtMs(last?.value)}, peak ${fmtMs(max)}`} data-testid="sparkline">
      {points.length === 1 ? <circle cx={xy[0]?.split(',')[0]} cy={xy[0]?.split(',')[1]} r="2" /> : <polyline points={xy.join(' ')} fill="none" strokeWidth="1.5" />}
    </svg>
  );
}
