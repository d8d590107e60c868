/**
 * Compares two V8 heap snapshots (`.heapsnapshot`, e.g. written by
 * `bench/memory_probe.ts` on SIGUSR2 with no calls and with N calls) and
 * prints, per constructor or object kind, how many more objects and bytes
 * (shallow size) the second one holds, divided by N: where the V8 heap per
 * call goes.
 *
 * `deno run --allow-read bench/heap_summary.ts idle.heapsnapshot loaded.heapsnapshot 200`
 *
 * @example
 * ```ts
 * import { diffSummaries, summarizeSnapshot } from "./heap_summary.ts";
 * // A two-node snapshot in V8's format: fields type, name, id, self_size, edge_count, …
 * const snapshot = {
 *   snapshot: {
 *     meta: {
 *       node_fields: ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
 *       node_types: [["hidden", "array", "string", "object", "code", "closure", "regexp", "number"]],
 *     },
 *   },
 *   nodes: [3, 0, 1, 40, 0, 0, 0, 3, 0, 3, 56, 0, 0, 0],
 *   strings: ["CallRunner"],
 * };
 * const before = summarizeSnapshot({ ...snapshot, nodes: snapshot.nodes.slice(0, 7) });
 * const after = summarizeSnapshot(snapshot);
 * const [top] = diffSummaries(before, after, 1);
 * if (top.name !== "CallRunner" || top.count !== 1 || top.bytes !== 56) throw new Error();
 * ```
 *
 * @module
 */

/** The parts of a V8 heap snapshot this module reads. */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

/** Objects and shallow bytes per kind (`object` nodes by constructor name, others by type). */
export type HeapSummary = Map<string, { count: number; bytes: number }>;

/** Counts the nodes of a snapshot by constructor name (objects) or node type (the rest). */
export function summarizeSnapshot(snapshot: HeapSnapshot): HeapSummary {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const summary: HeapSummary = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]];
    const name = type === "object" || type === "closure"
      ? `${type === "closure" ? "closure " : ""}${snapshot.strings[snapshot.nodes[i + nameAt]]}`
      : `(${type})`;
    const entry = summary.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt];
    summary.set(name, entry);
  }
  return summary;
}

/** What `after` holds more than `before`, per kind, divided by `per`, largest first. */
export function diffSummaries(
  before: HeapSummary,
  after: HeapSummary,
  per: number,
): { name: string; count: number; bytes: number }[] {
  const rows = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { count: 0, bytes: 0 };
    rows.push({ name, count: (a.count - b.count) / per, bytes: (a.bytes - b.bytes) / per });
  }
  return rows.sort((x, y) => y.bytes - x.bytes);
}

if (import.meta.main) {
  const [idle, loaded, n] = Deno.args;
  if (idle === undefined || loaded === undefined) {
    console.error("Usage: heap_summary.ts <idle.heapsnapshot> <loaded.heapsnapshot> [calls]");
    Deno.exit(2);
  }
  const per = Number(n ?? "1");
  const read = (file: string) => summarizeSnapshot(JSON.parse(Deno.readTextFileSync(file)));
  const rows = diffSummaries(read(idle), read(loaded), per);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(
    `V8 heap (shallow sizes) per call: ${(total / 1024).toFixed(1)} KB over ${per} calls`,
  );
  console.log("| kind | objects per call | bytes per call |\n|---|--:|--:|");
  for (const r of rows.slice(0, 30)) {
    console.log(`| ${r.name.slice(0, 60)} | ${r.count.toFixed(1)} | ${r.bytes.toFixed(0)} |`);
  }
}
