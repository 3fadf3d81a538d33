import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly where: string;
  readonly millis: number;
  /** Share of all sampled time. */
  readonly share: number;
  /** Share of the time the thread was not idle ((idle) excluded), which is what load costs. */
  readonly busyShare: number;
}

/** Self time per function (name + file + line) of a V8 `.cpuprofile` (`node --cpu-prof`), biggest first. */
export function topSelfTime(file: string, top = 10, root = process.cwd()): { total: number; busy: number; rows: SelfTime[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const micros = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const cf = byId.get(id)?.callFrame;
    if (cf === undefined) return;
    const url = cf.url.replace(/^file:\/\//, '');
    // tsx strips whitespace when it compiles TypeScript, so a .ts line number is meaningless: file only.
    const file = url.startsWith('/') ? relative(root, url) : url;
    const where = url === '' ? '' : /\.[cm]?tsx?$/.test(url) ? file : `${file}:${cf.lineNumber + 1}`;
    const fn = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const key = `${fn}\u0000${where}`;
    const row = micros.get(key) ?? { fn, where, us: 0 };
    row.us += dt;
    micros.set(key, row);
  });
  const idle = [...micros.values()].filter((r) => r.fn === '(idle)').reduce((n, r) => n + r.us, 0);
  const busy = total - idle;
  const rows = [...micros.values()]
    .filter((r) => r.fn !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((r) => ({ fn: r.fn, where: r.where, millis: r.us / 1000, share: total === 0 ? 0 : r.us / total, busyShare: busy === 0 ? 0 : r.us / busy }));
  return { total: total / 1000, busy: busy / 1000, rows };
}
