import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly node: string;
  /** 1, 5 and 15 minute load averages when asked. */
  readonly loadAverage: readonly [number, number, number];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
  return { cpus: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage: [l1, l5, l15] };
}

/**
 * One line naming the machine a bench ran on, printed once by each bench: on a shared 2-core
 * machine the load average says how far to trust the absolute figures (the ratios hold better).
 */
export function machineLine(m: MachineInfo = machineInfo()): string {
  const busy = m.loadAverage[0] > m.cpus / 4 ? ' (other processes compete for the CPUs: absolute figures are noisy, read the ratios)' : '';
  return `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB} GiB, node ${m.node}; load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min) at start${busy}`;
}
