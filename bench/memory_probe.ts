/**
 * The bridge with a memory probe, for the benchmark: runs `main()` of the
 * `main.ts` named by `BENCH_MAIN` (a file URL; default this checkout's) and
 * appends one JSON line per `BENCH_MEMORY_INTERVAL_MS` (default 250) to the
 * file `BENCH_MEMORY_FILE`: wall time, `Deno.memoryUsage()` and the V8 heap
 * statistics of `node:v8` (`getHeapStatistics`, `getHeapSpaceStatistics`).
 * The bench reads the samples taken when the calls were idle and at the end
 * of the measured window to split memory per call into V8 heap, memory held
 * outside the heap by JavaScript objects (`external`, e.g. ArrayBuffers) and
 * the rest of RSS (Rust/Tokio buffers of sockets, allocator slack).
 *
 * With `BENCH_HEAP_SNAPSHOT_DIR` set, each SIGUSR2 writes a V8 heap snapshot
 * there (`<n>.heapsnapshot`; compare two with `bench/heap_summary.ts`).
 *
 * Started by `bench/run.ts`; on its own:
 * `BENCH_MEMORY_FILE=/tmp/m.jsonl deno run -A bench/memory_probe.ts`.
 *
 * @example
 * ```ts
 * import { memorySample } from "./memory_probe.ts";
 * const s = memorySample();
 * if (!(s.heapUsed > 0 && s.rss >= s.heapTotal && s.spaces.new_space !== undefined)) {
 *   throw new Error("no heap statistics");
 * }
 * ```
 *
 * @module
 */
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from "node:v8";

/** One sample of the process's memory, in bytes. */
export interface MemorySample {
  /** `Date.now()` when taken. */
  at: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript objects (ArrayBuffers and the like). */
  external: number;
  /** V8's own malloc'ed memory (outside the heap). */
  mallocedMemory: number;
  /** Used bytes per V8 heap space (new_space, old_space, code_space, …). */
  spaces: Record<string, number>;
}

/** Takes one memory sample of this process. */
export function memorySample(): MemorySample {
  const usage = Deno.memoryUsage();
  const heap = getHeapStatistics();
  const spaces: Record<string, number> = {};
  for (const space of getHeapSpaceStatistics()) spaces[space.space_name] = space.space_used_size;
  return {
    at: Date.now(),
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    mallocedMemory: heap.malloced_memory,
    spaces,
  };
}

if (import.meta.main) {
  const file = Deno.env.get("BENCH_MEMORY_FILE");
  const interval = Number(Deno.env.get("BENCH_MEMORY_INTERVAL_MS") ?? "250");
  if (file !== undefined) {
    const out = await Deno.open(file, { create: true, append: true });
    const encoder = new TextEncoder();
    const timer = setInterval(() => {
      out.writeSync(encoder.encode(JSON.stringify(memorySample()) + "\n"));
    }, interval);
    Deno.unrefTimer(timer);
  }
  const snapshots = Deno.env.get("BENCH_HEAP_SNAPSHOT_DIR");
  if (snapshots !== undefined) {
    let taken = 0;
    Deno.addSignalListener("SIGUSR2", () => {
      const file = writeHeapSnapshot(`${snapshots}/${++taken}.heapsnapshot`);
      console.error(`heap snapshot written: ${file}`);
    });
  }
  const entry = Deno.env.get("BENCH_MAIN") ?? new URL("../main.ts", import.meta.url).href;
  const { main } = await import(entry);
  const code = await main();
  if (code !== 0) Deno.exit(code);
}
