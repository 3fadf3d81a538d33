import { colorFor, fmtAxisTime, fmtMs } from '../format.ts';

export interface ChartSeries {
  readonly id: string;
  readonly points: ReadonlyArray<{ readonly t: number; readonly value: number }>;
  /** Drawn dashed (a secondary line, e.g. an alerted endpoint). */
  readonly dashed?: boolean;
}

/** A horizontal band (an alert's baseline up to its threshold) over [fromMicros, toMicros]. */
export interface ChartBand {
  readonly id: string;
  readonly lo: number;
  readonly hi: number;
  readonly fromMicros: number;
  readonly toMicros: number;
  readonly label: string;
}

/** A vertical marker: an alert firing or resolving at `t` (µs). */
export interface ChartMarker {
  readonly id: string;
  readonly t: number;
  readonly state: 'firing' | 'resolved';
  readonly label: string;
}

interface Props {
  readonly series: readonly ChartSeries[];
  readonly fromMicros: number;
  readonly toMicros: number;
  /** Bucket width: points further apart than 1.5 steps are not joined (an empty bucket is a gap). */
  readonly stepMs: number;
  readonly label: string;
  readonly bands?: readonly ChartBand[];
  readonly markers?: readonly ChartMarker[];
  readonly testId?: string;
}

const W = 900;
const H = 260;
const M = { top: 12, right: 16, bottom: 28, left: 72 };

/** 1-2-5 ticks covering [0, max]. */
function ticks(max: number, count = 4): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) || 1;
  const out: number[] = [];
  for (let v = 0; v <= max + step / 2; v += step) out.push(v);
  return out;
}

/** P99 (ms) over time in plain SVG: one path per series, bands and markers behind and over them. */
export function LineChart({ series, fromMicros, toMicros, stepMs, label, bands = [], markers = [], testId }: Props) {
  const peak = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.value)), ...bands.map((b) => b.hi));
  const yTicks = ticks(peak);
  const yMax = yTicks[yTicks.length - 1] ?? peak;
  const span = Math.max(1, toMicros - fromMicros);
  const x = (t: number): number => M.left + ((Math.min(Math.max(t, fromMicros), toMicros) - fromMicros) / span) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const gapMicros = stepMs * 1000 * 1.5;
  const path = (pts: ChartSeries['points']): string =>
    pts.map((p, i) => `${i === 0 || p.t - (pts[i - 1]?.t ?? p.t) > gapMicros ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
  const xTicks = Array.from({ length: 6 }, (_, i) => fromMicros + (span * i) / 5);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid={testId}>
      {yTicks.map((v) => (
        <g key={v} className="grid">
          <line x1={M.left} x2={W - M.right} y1={y(v)} y2={y(v)} />
          <text x={M.left - 6} y={y(v) + 4} textAnchor="end">
            {v === 0 ? '0' : fmtMs(v)}
          </text>
        </g>
      ))}
      {xTicks.map((t, i) => (
        <text key={t} className="axis" x={x(t)} y={H - 8} textAnchor={i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}>
          {fmtAxisTime(t / 1000, span / 1000)}
        </text>
      ))}
      {bands.map((b) => (
        <rect key={b.id} className="band" data-testid="baseline-band" data-lo={b.lo} data-hi={b.hi} x={x(b.fromMicros)} width={Math.max(1, x(b.toMicros) - x(b.fromMicros))} y={y(b.hi)} height={Math.max(1, y(b.lo) - y(b.hi))}>
          <title>{b.label}</title>
        </rect>
      ))}
      {series.map((s) => (
        <path key={s.id} className="line" data-series={s.id} d={path(s.points)} stroke={colorFor(s.id)} strokeDasharray={s.dashed === true ? '6 4' : undefined}>
          <title>{s.id}</title>
        </path>
      ))}
      {series.map((s) =>
        s.points.length === 1 && s.points[0] !== undefined ? <circle key={`${s.id}-dot`} cx={x(s.points[0].t)} cy={y(s.points[0].value)} r="3" fill={colorFor(s.id)} /> : null,
      )}
      {markers.map((m, i) => (
        <g key={m.id} className={`marker ${m.state}`} data-testid="alert-marker" data-state={m.state}>
          <line x1={x(m.t)} x2={x(m.t)} y1={M.top} y2={H - M.bottom} />
          {/* One label per place (alerts fire together), kept inside the chart near the right edge. */}
          {!markers.slice(0, i).some((o) => o.state === m.state && Math.abs(x(o.t) - x(m.t)) < 60) && (
            <text x={x(m.t) > W - 80 ? x(m.t) - 4 : x(m.t) + 4} y={M.top + 10} textAnchor={x(m.t) > W - 80 ? 'end' : 'start'}>
              {m.state}
            </text>
          )}
          <title>{m.label}</title>
        </g>
      ))}
    </svg>
  );
}
