import assert from "node:assert/strict";
import { CallCheckpoints, MAX_CHECKPOINT_BYTES } from "../src/calls/call_checkpoints.ts";
import { CheckpointWriter } from "../src/bridge/checkpoint_writer.ts";
import type { ConversationEntry } from "../src/core/conversation_log.ts";

const user = (i: number, transcript = `caller words ${i}`): ConversationEntry => ({
  kind: "user",
  itemId: `u${i}`,
  transcript,
  at: i,
});

Deno.test("a call is resumed while live, again when its new stream never came, never once over, at most the cap", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new CallCheckpoints(kv, { ttlMs: 60_000, now: () => 1000 });
    assert.deepEqual(await store.claimResume("CA1", 3), { verdict: "unknown" });
    await store.save("CA1", {
      streamPath: "/media-stream/agent/sales",
      agent: "sales",
      conversation: [user(1)],
    });
    const first = await store.claimResume("CA1", 3);
    assert.equal(first.verdict, "resume");
    assert.equal(first.verdict === "resume" && first.checkpoint.agent, "sales");
    // The resumed stream never opened: Twilio asks again; that is a second resume.
    assert.equal((await store.claimResume("CA1", 3)).verdict, "resume");
    // The new stream started: live again, with its count kept.
    await store.save("CA1", {
      streamPath: "/media-stream/agent/sales",
      agent: "sales",
      conversation: [user(1), user(2)],
    });
    assert.deepEqual([(await store.get("CA1"))?.state, (await store.get("CA1"))?.resumes], [
      "live",
      2,
    ]);
    assert.equal((await store.claimResume("CA1", 3)).verdict, "resume");
    assert.deepEqual(await store.claimResume("CA1", 3), { verdict: "cap" });

    await store.save("CA2", { streamPath: "/media-stream", conversation: [] });
    await store.markOver("CA2", "transferred");
    assert.deepEqual(await store.claimResume("CA2", 3), { verdict: "over", ending: "transferred" });
    // A late write of the old stream does not bring an ended call back.
    assert.equal(
      await store.save("CA2", { streamPath: "/media-stream", conversation: [user(1)] }),
      false,
    );
    assert.equal((await store.get("CA2"))?.state, "over");
  } finally {
    kv.close();
  }
});

Deno.test("an ended call's checkpoint drops its words and caller context at once, keeping how it ended", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new CallCheckpoints(kv, { ttlMs: 60_000, now: () => 1000 });
    await store.save("CA3", {
      streamPath: "/media-stream/agent/sales",
      agent: "sales",
      caller: { name: "Ada Lovelace", account: "4711" },
      conversation: [user(1, "my card number is 4111 1111 1111 1111")],
    });
    await store.markOver("CA3", "caller_hung_up");
    const over = await store.get("CA3");
    assert.equal(over?.state, "over");
    assert.equal(over?.ending, "caller_hung_up");
    assert.equal(over?.agent, "sales");
    assert.deepEqual(over?.conversation, []);
    assert.equal(over?.caller, undefined);
    const raw = JSON.stringify((await kv.get(["call_checkpoints", "CA3"])).value);
    assert.ok(raw.includes("caller_hung_up"), "the stored checkpoint was read");
    assert.ok(!raw.includes("4111") && !raw.includes("Ada"), raw);
    assert.deepEqual(await store.claimResume("CA3", 3), {
      verdict: "over",
      ending: "caller_hung_up",
    });
  } finally {
    kv.close();
  }
});

Deno.test("a long call's checkpoint keeps its latest turns under the KV value limit", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new CallCheckpoints(kv, { ttlMs: 60_000 });
    const long = Array.from({ length: 2000 }, (_, i) => user(i, "word ".repeat(40) + i));
    assert.equal(
      await store.save("CA1", { streamPath: "/media-stream", conversation: long }),
      true,
    );
    const saved = (await store.get("CA1"))!;
    assert.ok(JSON.stringify(saved).length <= MAX_CHECKPOINT_BYTES);
    assert.ok(saved.conversation.length > 100);
    assert.deepEqual(saved.conversation.at(-1), long.at(-1), "the latest turn is kept");
  } finally {
    kv.close();
  }
});

Deno.test("the writer coalesces a turn's saves (one write in flight), and the end of a call is recorded before it resolves", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new CallCheckpoints(kv, { ttlMs: 60_000 });
    const writer = new CheckpointWriter(store, { streamPath: "/media-stream" });
    const conversation: ConversationEntry[] = [];
    let saves = 0;
    for (let turn = 0; turn < 20; turn++) {
      // A turn: the caller's words transcribed, then the response done (as the runner saves).
      conversation.push(user(turn));
      writer.save("CA1", conversation);
      conversation.push({
        kind: "assistant",
        itemId: `a${turn}`,
        responseId: `r${turn}`,
        transcript: `answer ${turn}`,
        heardMs: undefined,
        at: turn,
      });
      writer.save("CA1", conversation);
      saves += 2;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await writer.idle();
    assert.ok(writer.writes <= saves, `${writer.writes} writes for ${saves} saves`);
    assert.equal((await store.get("CA1"))?.conversation.length, 40, "the latest conversation won");
    // A burst of saves while one write is in flight: one more write, with the latest conversation.
    const before = writer.writes;
    for (let i = 0; i < 30; i++) writer.save("CA1", [...conversation, user(100 + i)]);
    await writer.idle();
    assert.equal(writer.writes - before, 2);
    assert.deepEqual((await store.get("CA1"))?.conversation.at(-1), user(129));
    await writer.ended("CA1", "caller_hung_up", conversation); // resolves once recorded
    assert.deepEqual([(await store.get("CA1"))?.state, (await store.get("CA1"))?.ending], [
      "over",
      "caller_hung_up",
    ]);
    writer.save("CA1", conversation); // after the end: nothing
    await writer.idle();
    assert.equal((await store.get("CA1"))?.state, "over");
  } finally {
    kv.close();
  }
});

Deno.test("a cold transfer keeps the conversation: transferring → reopened once for the fallback stream, or over when a person answered", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new CallCheckpoints(kv, { ttlMs: 60_000 });
    const writer = new CheckpointWriter(
      store,
      { streamPath: "/media-stream/agent/desk", agent: "desk" },
      undefined,
      {
        coldTransfer: true,
      },
    );
    writer.save("CA1", [user(1)]);
    await writer.ended("CA1", "transferred", [user(1), user(2)]);
    const stored = await store.get("CA1");
    assert.equal(stored?.state, "transferring");
    assert.deepEqual(stored?.conversation, [user(1), user(2)]);
    // The `<Connect action>` on any instance: dial, never a resume.
    assert.deepEqual(await store.claimResume("CA1", 3), { verdict: "transferring", agent: "desk" });
    const reopened = await store.reopenAfterTransfer("CA1");
    assert.equal(reopened?.state, "resuming");
    assert.equal(reopened?.resumes, 0, "going back to the agent is no resume");
    assert.equal(await store.reopenAfterTransfer("CA1"), undefined, "only once");

    // A warm transfer (or a cold one a person answered) is over.
    const warm = new CheckpointWriter(store, { streamPath: "/media-stream" });
    warm.save("CA2", [user(1)]);
    await warm.ended("CA2", "transferred", [user(1)]);
    assert.equal((await store.get("CA2"))?.state, "over");
    assert.equal(await store.reopenAfterTransfer("CA2"), undefined);
  } finally {
    kv.close();
  }
});
