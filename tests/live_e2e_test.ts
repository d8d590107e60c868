/**
 * End-to-end tests of an agent on GPT-Live (`ENGINE=live`): the real bridge
 * over real sockets between a fake Twilio call and the fake GPT-Live server
 * (`support/fake_live.ts`), whose events are checked against the schema
 * written from the contract.
 */
import assert from "node:assert/strict";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeLiveServer, type FakeLiveSession } from "./support/fake_live.ts";
import { encodeBase64 } from "../src/protocol/base64.ts";
import type { ConversationEntry } from "../src/core/conversation_log.ts";

async function until(what: string, check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`Timed out waiting: ${what}`);
    await sleep(5);
  }
}

/** The conversation's turns as "who: words". */
function spoken(entries: readonly ConversationEntry[]): string[] {
  return entries.flatMap((e) =>
    e.kind === "user" || e.kind === "assistant" ? [`${e.kind}: ${e.transcript ?? ""}`] : []
  );
}

function assertClean(session: FakeLiveSession): void {
  assert.deepEqual(session.schemaErrors, [], "every event the bridge sent passed the schema");
  assert.deepEqual(session.selfErrors, [], "the fake sent only valid events");
  assert.deepEqual(
    session.outcomes.filter((o) => o.kind === "refused"),
    [],
    "GPT-Live refused nothing the bridge sent (nothing before session.started)",
  );
}

Deno.test("live: session.start first with the key in the header, the greeting asked for after session.started, audio both ways, seconds in the summary", async () => {
  await using live = await FakeLiveServer.start({ expectedApiKey: TEST_API_KEY });
  await using h = await BridgeHarness.start({
    ENGINE: "live",
    OPENAI_LIVE_URL: live.url,
    GREETING: "Hello from Acme.",
    VOICE: "marin",
  });
  const call = await h.call();
  // Caller audio sent before GPT-Live is there waits for session.started.
  const early = encodeBase64(new Uint8Array(160).fill(0x11));
  call.sendMedia(new Uint8Array(160).fill(0x11));
  const session = await live.nextSession();
  const start = await session.waitFor("session.start");
  assert.equal(session.received[0].type, "session.start", "session.start is the first event");
  assert.equal(session.url.search, "", "no query string");
  assert.equal(session.headers.get("authorization"), `Bearer ${TEST_API_KEY}`);
  assert.equal(session.headers.get("sec-websocket-protocol"), null, "the key is not a subprotocol");
  assert.equal(start.session.model, "gpt-live-1", "the live engine's default model");
  assert.deepEqual(start.session.audio, {
    format: { type: "audio/pcmu", rate: 8000 },
    output: { voice: "marin" },
  });
  assert.equal(start.session.delegation.type, "responses");
  assert.equal(start.session.delegation.responses.model, "gpt-5-mini");
  assert.deepEqual(
    start.session.delegation.responses.tools.map((t: { name: string }) => t.name),
    ["end_call"],
  );
  const greeting = await session.waitFor("session.commentary.append");
  assert.match(greeting.content, /Hello from Acme\./);
  assert.equal(greeting.delegation_id, null);
  const first = await session.waitFor("session.input_audio.append");
  assert.equal(first.audio, early, "the early frame was kept, then sent");

  // The silent track before a reply never reaches the caller; the reply and its pauses do.
  session.silence(300);
  session.speak(audioBytes(0x21, 400), "Hello from Acme.");
  session.silence(600);
  await until("the reply played", () => call.playedMs(0x21) >= 400);
  await until("the reply's tail", () => call.receivedAudioBytes(0xff) >= 4000);
  await sleep(50);
  assert.equal(call.receivedAudioBytes(0xff), 4000, "500 ms of pause, then the reply ended");

  for (let i = 0; i < 10; i++) call.sendMedia(new Uint8Array(160).fill(0x22));
  await until("caller audio reached GPT-Live", () => session.inputMs >= 11 * 20);
  session.usage();
  await sleep(50);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
  assert.equal(summary.liveSeconds, 0.22, "the session's cumulative seconds");
  assert.deepEqual(spoken(summary.conversation), ["assistant: Hello from Acme."]);
  await session.waitFor("session.close");
  assertClean(session);
});
