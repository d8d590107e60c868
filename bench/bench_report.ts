/**
 * What the relay benchmark reports: the row and soak result types written to
 * the JSON, the memory-per-call split, and the Markdown tables printed by
 * `bench/run.ts` (main table, memory table, side by side with the peer).
 *
 * @example
 * ```ts
 * import { markdown } from "./bench_report.ts";
 * const text = markdown(["N", "KB/call"], [["200", "305"]]);
 * if (!text.startsWith("|   N | KB/call |")) throw new Error(text);
 * ```
 *
 * @module
 */
import type { Distribution, LoadResult } from "./load_generator.ts";
import type { MemorySample } from "./memory_probe.ts";

/** Where the bridge's memory per call goes (KB per call, end of window minus idle). */
export interface MemoryPerCall {
  rss: number;
  heapUsed: number;
  external: number;
  mallocedMemory: number;
  /** RSS not explained by the V8 heap or external memory: sockets' buffers, allocator. */
  outsideV8: number;
  /** Used bytes per V8 heap space, KB per call. */
  spaces: Record<string, number>;
}

/** The peer's measurements in the same row. */
export interface PeerRow {
  load: LoadResult;
  addedP50Ms: number;
  addedP99Ms: number;
  lossPct: number;
  cpuPct: number;
  cpuUsPerFrame: number;
  rssIdleKb: number;
  rssKb: number;
  rssPerCallKb: number;
  startupMs: number;
}

export interface Row {
  calls: number;
  bridge: LoadResult;
  direct: LoadResult;
  addedP50Ms: number;
  addedP99Ms: number;
  lossPct: number;
  serverCpuPct: number;
  /** Bridge CPU µs per caller frame (see {@link ServerRun.cpuUsPerFrame}). */
  serverCpuUsPerFrame: number;
  echoCpuPct: number;
  generatorCpuPct: number;
  rssIdleKb: number;
  rssKb: number;
  rssPerCallKb: number;
  rssGrowthKbPerCallPerMin: number;
  memoryPerCall?: MemoryPerCall;
  /** Max lateness of a 250 ms timer in the bridge during the window (event loop busy or descheduled). */
  loopLagMaxMs?: number;
  startupMs: number;
  generatorLate: boolean;
  peer?: PeerRow;
  /** The floor relay (`--floor`): the same WebSocket stacks and nothing else. */
  floor?: PeerRow;
  warnings: string[];
}

export function memoryPerCall(
  idle: MemorySample | undefined,
  end: MemorySample | undefined,
  n: number,
): MemoryPerCall | undefined {
  if (idle === undefined || end === undefined) return undefined;
  const per = (a: number, b: number) => (b - a) / 1024 / n;
  const spaces: Record<string, number> = {};
  for (const name of Object.keys(end.spaces)) {
    spaces[name] = per(idle.spaces[name] ?? 0, end.spaces[name]);
  }
  const rss = per(idle.rss, end.rss);
  const heapUsed = per(idle.heapUsed, end.heapUsed);
  const heapTotal = per(idle.heapTotal, end.heapTotal);
  const external = per(idle.external, end.external);
  const mallocedMemory = per(idle.mallocedMemory, end.mallocedMemory);
  return {
    rss,
    heapUsed,
    external,
    mallocedMemory,
    outsideV8: rss - heapTotal - external - mallocedMemory,
    spaces,
  };
}

export function lossPct(load: LoadResult): number {
  return load.framesSent === 0 ? 100 : (load.framesLost / load.framesSent) * 100;
}

/** What `--soak` measured: RSS over a long run at one N. */
export interface SoakResult {
  calls: number;
  seconds: number;
  warmupSeconds: number;
  /** [seconds into the measured window, RSS KB], one point per `sampleSeconds`. */
  rss: [number, number][];
  sampleSeconds: number;
  /** Mean RSS over the first and the last tenth of the window (KB). */
  rssStartKb: number;
  rssEndKb: number;
  /** (end − start) / start, in %. */
  growthPct: number;
  heapUsedStartKb?: number;
  heapUsedEndKb?: number;
  load: LoadResult;
  cpuPct: number;
  loopLagMaxMs?: number;
}

export function f(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

export function markdown(head: string[], lines: string[][]): string {
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((l) => l[i].length)));
  const fmt = (l: string[]) => "| " + l.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
  return [
    fmt(head),
    "|" + widths.map((w) => "-".repeat(w + 1) + ":").join("|") + "|",
    ...lines.map(fmt),
  ].join("\n");
}

export function table(rows: Row[]): string {
  return markdown(
    [
      "N",
      "rtt p50",
      "rtt p99",
      "direct p50",
      "direct p99",
      "added p50",
      "added p99",
      "loss %",
      "cpu %",
      "cpu µs/frame",
      "RSS MB",
      "KB/call",
      "KB/call/min",
      "loop lag ms",
      "start ms",
      "gen late",
    ],
    rows.map((r) => [
      String(r.calls),
      f(r.bridge.rtt.p50),
      f(r.bridge.rtt.p99),
      f(r.direct.rtt.p50),
      f(r.direct.rtt.p99),
      f(r.addedP50Ms),
      f(r.addedP99Ms),
      f(r.lossPct, 3),
      f(r.serverCpuPct, 1),
      f(r.serverCpuUsPerFrame, 1),
      f(r.rssKb / 1024, 1),
      f(r.rssPerCallKb, 1),
      f(r.rssGrowthKbPerCallPerMin, 1),
      f(r.loopLagMaxMs ?? NaN, 0),
      f(r.startupMs, 0),
      r.generatorLate ? "yes" : "no",
    ]),
  );
}

/** `a / b` as `0.73×`, or `n/a` without a (positive) `b`. */
function ratio(a: number, b: number | undefined): string {
  return b !== undefined && b > 0 ? `${f(a / b)}×` : "n/a";
}

export function peerTable(rows: Row[]): string {
  return markdown(
    [
      "N",
      "cpu % bridge",
      "cpu % peer",
      "cpu ratio",
      "µs/frame bridge / peer",
      "µs/frame ratio",
      "KB/call bridge",
      "KB/call peer",
      "mem ratio",
      "added p50 bridge / peer",
      "added p99 bridge / peer",
      "loss % bridge / peer",
    ],
    rows.filter((r) => r.peer !== undefined).map((r) => {
      const p = r.peer!;
      return [
        String(r.calls),
        f(r.serverCpuPct, 1),
        f(p.cpuPct, 1),
        ratio(r.serverCpuPct, p.cpuPct),
        `${f(r.serverCpuUsPerFrame, 1)} / ${f(p.cpuUsPerFrame, 1)}`,
        ratio(r.serverCpuUsPerFrame, p.cpuUsPerFrame),
        f(r.rssPerCallKb, 0),
        f(p.rssPerCallKb, 0),
        ratio(r.rssPerCallKb, p.rssPerCallKb),
        `${f(r.addedP50Ms)} / ${f(p.addedP50Ms)}`,
        `${f(r.addedP99Ms)} / ${f(p.addedP99Ms)}`,
        `${f(r.lossPct, 3)} / ${f(p.lossPct, 3)}`,
      ];
    }),
  );
}

/** Bridge, floor relay and (when run) peer CPU side by side: how much of the bridge is its own. */
export function floorTable(rows: Row[]): string {
  return markdown(
    [
      "N",
      "µs/frame bridge",
      "µs/frame floor",
      "µs/frame peer",
      "bridge / peer",
      "floor / peer",
      "bridge's own µs/frame",
      "own share of bridge",
      "KB/call bridge / floor",
      "added p99 bridge / floor",
    ],
    rows.filter((r) => r.floor !== undefined).map((r) => {
      const fl = r.floor!;
      const own = r.serverCpuUsPerFrame - fl.cpuUsPerFrame;
      return [
        String(r.calls),
        f(r.serverCpuUsPerFrame, 1),
        f(fl.cpuUsPerFrame, 1),
        r.peer ? f(r.peer.cpuUsPerFrame, 1) : "–",
        ratio(r.serverCpuUsPerFrame, r.peer?.cpuUsPerFrame),
        ratio(fl.cpuUsPerFrame, r.peer?.cpuUsPerFrame),
        f(own, 1),
        `${f((100 * own) / r.serverCpuUsPerFrame, 0)} %`,
        `${f(r.rssPerCallKb, 0)} / ${f(fl.rssPerCallKb, 0)}`,
        `${f(r.addedP99Ms)} / ${f(fl.addedP99Ms)}`,
      ];
    }),
  );
}

export function memoryTable(rows: Row[]): string {
  return markdown(
    ["N", "RSS", "V8 heap used", "external", "V8 malloced", "outside V8", "heap by space"],
    rows.filter((r) => r.memoryPerCall !== undefined).map((r) => {
      const m = r.memoryPerCall!;
      const spaces = Object.entries(m.spaces)
        .filter(([, kb]) => Math.abs(kb) >= 1)
        .map(([name, kb]) => `${name.replace("_space", "")} ${f(kb, 0)}`)
        .join(", ");
      return [
        String(r.calls),
        f(m.rss, 0),
        f(m.heapUsed, 0),
        f(m.external, 0),
        f(m.mallocedMemory, 0),
        f(m.outsideV8, 0),
        spaces,
      ];
    }),
  );
}

export function summarize(d: Distribution): string {
  return `p50 ${f(d.p50)} p90 ${f(d.p90)} p99 ${f(d.p99)} max ${f(d.max)} ms (${d.count})`;
}
