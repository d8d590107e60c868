/**
 * The cost of checkpointing a call (docs/performance.md): one
 * `CallCheckpoints.save` (a read and a versionstamp-checked write) of a
 * conversation of 10, 40 and 200 entries (about 5, 20 and 100 turns with
 * sentence-long transcripts) into a Deno KV file, as each completed turn
 * does; and the `claimResume` of the `<Connect action>` request. Run with
 * `deno bench --allow-read --allow-write bench/checkpoint_bench.ts`.
 *
 * @module
 */
import { CallCheckpoints } from "../src/calls/call_checkpoints.ts";
import type { ConversationEntry } from "../src/core/conversation_log.ts";

const dir = await Deno.makeTempDir();
const kv = await Deno.openKv(`${dir}/bench.kv`);
const store = new CallCheckpoints(kv, { ttlMs: 3_600_000 });
const SENTENCE = "I would like to visit the two-bedroom flat on Baker Street next Tuesday morning.";

function conversation(entries: number): ConversationEntry[] {
  return Array.from(
    { length: entries },
    (_, i): ConversationEntry =>
      i % 2 === 0 ? { kind: "user", itemId: `item_${i}`, transcript: SENTENCE, at: i * 1000 } : {
        kind: "assistant",
        itemId: `item_${i}`,
        responseId: `resp_${i}`,
        transcript: SENTENCE,
        heardMs: undefined,
        at: i * 1000,
      },
  );
}

for (const entries of [10, 40, 200]) {
  const snapshot = { streamPath: "/media-stream", conversation: conversation(entries) };
  const bytes = new TextEncoder().encode(JSON.stringify(snapshot)).length;
  let n = 0;
  Deno.bench(`checkpoint save, ${entries} entries (${bytes} B JSON)`, async () => {
    await store.save(`CA${entries}_${n++ % 100}`, snapshot);
  });
}

Deno.bench("claimResume of a live call", async (b) => {
  const sid = `CAclaim${crypto.randomUUID().slice(0, 8)}`;
  await store.save(sid, { streamPath: "/media-stream", conversation: conversation(40) });
  b.start();
  await store.claimResume(sid, 3);
  b.end();
});

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});
