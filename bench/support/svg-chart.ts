/**
 * A small line chart as a standalone SVG, for benchmark and soak figures that should render on
 * GitHub without a plotting stack. Each series may use the left or the right y-axis.
 */
export interface ChartSeries {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly axis?: 'left' | 'right';
  readonly color: string;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly leftLabel: string;
  readonly rightLabel?: string;
  readonly series: readonly ChartSeries[];
  /** Shaded x-ranges with a caption, e.g. a warm-up period. */
  readonly bands?: ReadonlyArray<{ readonly from: number; readonly to: number; readonly label: string }>;
  /** Log-scale x axis (e.g. spans per request 10 → 1000). */
  readonly logX?: boolean;
}

const W = 860;
const H = 420;
const M = { top: 48, right: 80, bottom: 56, left: 76 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1-2-5 ticks covering [0, max]. */
function ticks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const label = (v: number): string => (Math.abs(v) >= 10_000 ? `${(v / 1000).toFixed(0)}k` : Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

export function lineChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const fx = spec.logX === true ? Math.log10 : (v: number) => v;
  const xMin = fx(Math.min(...xs));
  const xMax = fx(Math.max(...xs));
  const side = (axis: 'left' | 'right'): number[] => spec.series.filter((s) => (s.axis ?? 'left') === axis).flatMap((s) => s.points.map((p) => p[1]));
  const leftTicks = ticks(Math.max(...side('left'), 0));
  const rightTicks = ticks(Math.max(...side('right'), 0));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number): number => M.left + (xMax === xMin ? pw / 2 : ((fx(v) - xMin) / (xMax - xMin)) * pw);
  const y = (v: number, axis: 'left' | 'right'): number => {
    const t = axis === 'left' ? leftTicks : rightTicks;
    return M.top + ph - (v / (t.at(-1) ?? 1)) * ph;
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${esc(spec.title)}</text>`,
  ];
  for (const b of spec.bands ?? []) {
    parts.push(`<rect x="${x(b.from)}" y="${M.top}" width="${Math.max(0, x(b.to) - x(b.from))}" height="${ph}" fill="#f1f1f1"/>`);
    parts.push(`<text x="${(x(b.from) + x(b.to)) / 2}" y="${M.top + 14}" text-anchor="middle" fill="#777">${esc(b.label)}</text>`);
  }
  for (const t of leftTicks) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t, 'left')}" y2="${y(t, 'left')}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${M.left - 8}" y="${y(t, 'left') + 4}" text-anchor="end">${label(t)}</text>`);
  }
  if (spec.rightLabel !== undefined) {
    for (const t of rightTicks) parts.push(`<text x="${W - M.right + 8}" y="${y(t, 'right') + 4}">${label(t)}</text>`);
  }
  const xTicks = spec.logX === true ? [...new Set(xs)].sort((a, b) => a - b) : ticks(Math.max(...xs)).filter((t) => fx(t) >= xMin - 1e-9);
  for (const t of xTicks) parts.push(`<text x="${x(t)}" y="${H - M.bottom + 18}" text-anchor="middle">${label(t)}</text>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#999"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.leftLabel)}</text>`);
  if (spec.rightLabel !== undefined) parts.push(`<text transform="translate(${W - 18} ${M.top + ph / 2}) rotate(90)" text-anchor="middle">${esc(spec.rightLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const axis = s.axis ?? 'left';
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1], axis).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.points) parts.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1], axis).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    const lx = M.left + 10 + i * 220;
    parts.push(`<rect x="${lx}" y="${M.top - 16}" width="14" height="4" fill="${s.color}"/><text x="${lx + 20}" y="${M.top - 10}">${esc(s.name)}${axis === 'right' ? ' (right axis)' : ''}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Several charts from `lineChart`, one under the other, in one SVG file. */
export function stackCharts(charts: readonly string[]): string {
  const inner = charts.map((c, i) => c.replace('<svg ', `<svg y="${i * H}" `));
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * charts.length}" viewBox="0 0 ${W} ${H * charts.length}">`, ...inner, '</svg>'].join('\n');
}

export interface BarChartSpec {
  readonly title: string;
  /** The categories along x, e.g. `gzip off`, `gzip on`. */
  readonly groups: readonly string[];
  /** One bar per series in each group; `values[i]` belongs to `groups[i]` (NaN: no bar). */
  readonly series: ReadonlyArray<{ readonly name: string; readonly values: readonly number[]; readonly color: string }>;
  readonly yLabel: string;
  /** A dashed horizontal line with a caption, e.g. a target. */
  readonly threshold?: { readonly value: number; readonly label: string };
}

/** Grouped bars, same size and style as `lineChart` (so `stackCharts` can stack both); each bar is labelled with its value. */
export function barChart(spec: BarChartSpec): string {
  const values = spec.series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  const yTicks = ticks(Math.max(...values, spec.threshold?.value ?? 0, 0));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const y = (v: number): number => M.top + ph - (v / (yTicks.at(-1) ?? 1)) * ph;
  const groupW = pw / Math.max(1, spec.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, spec.series.length);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${esc(spec.title)}</text>`,
  ];
  for (const t of yTicks) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${M.left - 8}" y="${y(t) + 4}" text-anchor="end">${label(t)}</text>`);
  }
  spec.groups.forEach((g, gi) => {
    const gx = M.left + gi * groupW + groupW * 0.1;
    spec.series.forEach((s, si) => {
      const v = s.values[gi] ?? Number.NaN;
      if (!Number.isFinite(v)) return;
      const bx = gx + si * barW;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW * 0.9).toFixed(1)}" height="${(M.top + ph - y(v)).toFixed(1)}" fill="${s.color}"/>`);
      parts.push(`<text x="${(bx + barW * 0.45).toFixed(1)}" y="${(y(v) - 4).toFixed(1)}" text-anchor="middle">${label(v)}</text>`);
    });
    parts.push(`<text x="${(M.left + (gi + 0.5) * groupW).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(g)}</text>`);
  });
  if (spec.threshold !== undefined) {
    const ty = y(spec.threshold.value);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ty}" y2="${ty}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - M.right}" y="${ty - 4}" text-anchor="end" fill="#d62728">${esc(spec.threshold.label)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#999"/>`);
  parts.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const lx = M.left + 10 + i * 220;
    parts.push(`<rect x="${lx}" y="${M.top - 18}" width="10" height="10" fill="${s.color}"/><text x="${lx + 16}" y="${M.top - 9}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
