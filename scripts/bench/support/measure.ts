// Measurement helpers shared by the TypeScript benches. Shared machines are noisy, so the
// benches time CPU (user + system of this process, all threads) rather than wall time,
// interleave baseline and candidate in every round, and report the median of the per-round
// ratios: load that comes and goes then hits both sides of a ratio alike.
import { cpus, loadavg } from 'node:os';

/**
 * The clock of every measurement: CPU time by default; `BENCH_CLOCK=wall` for wall time. CPU time
 * resists load from other processes but also counts V8's parallel GC threads, which run on an
 * idle second core: on a quiet machine it charges an allocating stream for work done beside it,
 * while throughput (what a user sees) is wall time. Use wall time on a quiet machine.
 */
export const CLOCK: 'cpu' | 'wall' = process.env['BENCH_CLOCK'] === 'wall' ? 'wall' : 'cpu';
export const CLOCK_NAME = CLOCK === 'wall' ? 'wall time' : 'CPU time (all threads)';

/** Seconds on the bench clock so far (CPU: user + system of this process, every thread). */
export function cpuSeconds(): number {
  if (CLOCK === 'wall') return performance.now() / 1e3;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds that `fn` takes (awaited). */
export async function cpuTime(fn: () => unknown): Promise<number> {
  const start = cpuSeconds();
  await fn();
  return cpuSeconds() - start;
}

/** Operations per CPU second over `count` sequential awaited calls of `op`. */
export async function ratePerCpuSecond(count: number, op: () => unknown): Promise<number> {
  const seconds = await cpuTime(async () => {
    for (let i = 0; i < count; i++) await op();
  });
  return count / Math.max(seconds, 1e-6);
}

/**
 * How many calls of `op` take about `slice` CPU seconds (at least `min`): so that every timed
 * slice is long enough for the clock and short enough for the whole bench's time budget.
 */
export async function calibrate(op: () => unknown, slice: number, min = 1): Promise<number> {
  let n = 1;
  for (;;) {
    const seconds = await cpuTime(async () => {
      for (let i = 0; i < n; i++) await op();
    });
    if (seconds >= slice / 8 || n >= 1 << 20) return Math.max(min, Math.round((n * slice) / Math.max(seconds, 1e-6)));
    n *= 4;
  }
}

/** The median (upper median for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  return [...values].sort((a, b) => a - b)[values.length >> 1] as number;
}

/** min-max of the values, for the spread next to a median. */
export function spread(values: readonly number[], digits = 2): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${(sorted[0] ?? NaN).toFixed(digits)}-${(sorted[sorted.length - 1] ?? NaN).toFixed(digits)}`;
}

/** The 1-minute load average, two decimals. */
export function load(): string {
  return (loadavg()[0] ?? NaN).toFixed(2);
}

/** CPU model, core count and Node version. */
export function machine(): string {
  const list = cpus();
  return `${list[0]?.model.trim() ?? 'unknown CPU'}, ${list.length} cores, Node ${process.version}`;
}
