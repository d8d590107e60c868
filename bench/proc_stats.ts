/**
 * Process statistics for the benchmark, read from Linux `/proc`: CPU seconds
 * and resident memory of a process, the load average, and a least-squares
 * slope for growth over time. Every reader returns `NaN` (or `"n/a"`) where
 * `/proc` is not available instead of throwing.
 *
 * @example
 * ```ts
 * import { cpuSeconds, rssKb, slope } from "./proc_stats.ts";
 * const cpu = cpuSeconds(Deno.pid);
 * const rss = rssKb(Deno.pid);
 * if (!(Number.isNaN(cpu) || cpu >= 0) || !(Number.isNaN(rss) || rss > 0)) throw new Error();
 * if (slope([[0, 1], [1, 3], [2, 5]]) !== 2) throw new Error("slope");
 * ```
 *
 * @module
 */

const CLK_TCK = 100;

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size in KB, from /proc/<pid>/status. */
export function rssKb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = status.match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** The 1, 5 and 15 minute load averages, or "n/a". */
export function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** A one-line description of the machine (CPU model, cores, memory). */
export function machineDescription(): string {
  let model = "unknown CPU";
  let memory = "";
  try {
    const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
    model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? model;
  } catch { /* not Linux */ }
  try {
    const kb = Number(Deno.readTextFileSync("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1]);
    if (kb > 0) memory = `, ${(kb / 1024 / 1024).toFixed(0)} GB RAM`;
  } catch { /* not Linux */ }
  return `${model}, ${navigator.hardwareConcurrency} CPUs${memory}, ${Deno.build.os}`;
}

/** Least-squares slope of (t, y) points; NaN with fewer than two points. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  let st = 0, sy = 0, stt = 0, sty = 0;
  for (const [t, y] of points) {
    st += t;
    sy += y;
    stt += t * t;
    sty += t * y;
  }
  const d = n * stt - st * st;
  return d === 0 ? NaN : (n * sty - st * sy) / d;
}
