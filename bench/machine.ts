/**
 * How busy the whole machine was over a stretch of time, from /proc/stat (Linux): the benchmark shares
 * two cores with whatever else runs, and its figures mean little without that context.
 */
import { readFileSync } from 'node:fs';

export interface CpuSample {
  /** Jiffies spent busy (user, nice, system, irq, softirq, steal) and in total, all cores. */
  readonly busy: number;
  readonly total: number;
  readonly at: number;
}

export const sampleCpu = (): CpuSample | undefined => {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait, at: performance.now() };
  } catch {
    return undefined;
  }
};

/** Cores kept busy on average between two samples (by every process on the machine). */
export const busyCores = (from: CpuSample | undefined, to: CpuSample | undefined): number | undefined => {
  if (!from || !to || to.at <= from.at) return undefined;
  // /proc/stat counts in USER_HZ, 100 per second on Linux.
  return (to.busy - from.busy) / 100 / ((to.at - from.at) / 1000);
};
