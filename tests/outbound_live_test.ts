import assert from "node:assert/strict";
import { AmdRelay, watchAmdInKv } from "../src/outbound/amd_relay.ts";
import { KvAttemptStore } from "../src/outbound/attempt_store.ts";
import { OutboundService } from "../src/outbound/outbound_service.ts";
import { parseConfig } from "../src/config/mod.ts";
import { sendDigits } from "../src/outbound/dtmf.ts";
import { TwilioCalls } from "../src/outbound/twilio_calls.ts";
import type { AnsweredBy } from "../src/outbound/call_progress.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { waitUntil } from "./support/wait.ts";
import { CoreDriver } from "./support/core_driver.ts";

const ACCOUNT = "AC" + "4".repeat(32);
const AUTH = "abcdefabcdefabcdefabcdefabcdef12";

Deno.test("the AMD result reaches a stream that subscribed before it, once", () => {
  const relay = new AmdRelay();
  const heard: AnsweredBy[] = [];
  relay.subscribe("CA1", (r) => heard.push(r));
  const stop = relay.subscribe("CA2", (r) => heard.push(r));
  assert.equal(relay.waiting, 2);
  stop(); // CA2's stream ended before the result
  relay.publish("CA1", "human");
  relay.publish("CA1", "machine_end_beep"); // a second result for a call already told: kept, not delivered
  relay.publish("CA2", "fax");
  assert.deepEqual(heard, ["human"]);
  assert.equal(relay.waiting, 0);
});

Deno.test("with several instances the AMD result reaches the stream through the shared KV", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const attempts = new KvAttemptStore(kv);
    await attempts.update("CA9", { agent: "default", status: "in-progress" });
    const heard: AnsweredBy[] = [];
    watchAmdInKv(kv, "CA9", (r) => heard.push(r));
    const stopped: AnsweredBy[] = [];
    const stop = watchAmdInKv(kv, "CA8", (r) => stopped.push(r));
    stop();
    // Another instance's dialer records the callback.
    await attempts.update("CA9", { answeredBy: "machine_end_silence" });
    await attempts.update("CA8", { answeredBy: "human" });
    await waitUntil(() => heard.length === 1, 2000, "the watched AMD result");
    assert.deepEqual(heard, ["machine_end_silence"]);
    assert.deepEqual(stopped, []);
  } finally {
    kv.close();
  }
});

Deno.test("two instances, one KV: the AMD callback on one reaches the stream on the other, once", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  const config = parseConfig({
    OPENAI_API_KEY: "sk-test-0123456789abcdefghij",
    API_TOKEN: "t".repeat(32),
    PUBLIC_URL: "https://voice.example.com",
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: AUTH,
    TWILIO_PHONE_NUMBER: "+15005550006",
  });
  // Each instance opens the store itself, as two processes would.
  const a = OutboundService.create({ config, kv: await Deno.openKv(path) });
  const b = OutboundService.create({ config, kv: await Deno.openKv(path) });
  try {
    const heardOnB: string[] = [];
    b.streams.answeredBy("CA7", (result) => heardOnB.push(result)); // the stream is on B
    const stopped: string[] = [];
    const stop = b.streams.answeredBy("CA6", (result) => stopped.push(result));
    stop(); // that stream ended before its result
    // Twilio posts the result to A.
    await a.dialer.onAnsweredBy(
      new URLSearchParams({ CallSid: "CA7", AnsweredBy: "machine_end_beep" }),
      new URLSearchParams(),
    );
    await a.dialer.onAnsweredBy(
      new URLSearchParams({ CallSid: "CA6", AnsweredBy: "human" }),
      new URLSearchParams(),
    );
    await waitUntil(() => heardOnB.length > 0, 3000, "the AMD result on the other instance");
    // A second callback for the same call (Twilio retries) is not heard again.
    await a.dialer.onAnsweredBy(
      new URLSearchParams({ CallSid: "CA7", AnsweredBy: "human" }),
      new URLSearchParams(),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(heardOnB, ["machine_end_beep"]);
    assert.deepEqual(stopped, []);
    // A stream that starts after the result was recorded elsewhere hears it at once.
    const late: string[] = [];
    const stopLate = b.streams.answeredBy("CA6", (result) => late.push(result));
    await waitUntil(() => late.length > 0, 3000, "the recorded AMD result");
    stopLate();
    assert.deepEqual(late, ["human"]);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("send_dtmf: valid digits update the call through REST; bad digits go back to the model, no request", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const calls = new TwilioCalls({ accountSid: ACCOUNT, authToken: AUTH, baseUrl: rest.baseUrl });
  const call = await calls.create({
    to: "+15551234567",
    from: "+15005550006",
    url: "https://voice.example.com/outbound/twiml?t=x",
    statusCallback: "https://voice.example.com/outbound/status",
    asyncAmdStatusCallback: "https://voice.example.com/outbound/amd",
  });
  const options = {
    calls,
    publicUrl: "https://voice.example.com",
    streamParameters: { streamToken: "v1.1.x", callTicket: "o1.y" },
  };
  assert.equal(await sendDigits(call.sid, "2", options), '{"ok":true,"pressed":"2"}');
  const [update] = rest.updatesOf(call.sid);
  assert.match(
    update.params.Twiml,
    /^<\?xml[^>]*><Response><Play digits="2"\/><Connect action="https:\/\/voice\.example\.com\/call-ended" method="POST"><Stream url="wss:\/\/voice\.example\.com\/media-stream"><Parameter name="streamToken" value="v1\.1\.x"\/><Parameter name="callTicket" value="o1\.y"\/><\/Stream><\/Connect><\/Response>$/,
  );

  const bad = JSON.parse(await sendDigits(call.sid, "press 2", options));
  assert.equal(bad.ok, false);
  assert.match(bad.error, /only contain 0-9/);
  const unknown = JSON.parse(await sendDigits("CA" + "e".repeat(32), "1", options));
  assert.equal(unknown.ok, false);
  assert.match(unknown.error, /20404/);
  assert.equal(rest.updatesOf(call.sid).length, 1);
});

Deno.test("a call resumed in a new stream replays its conversation into the first session, without a greeting", () => {
  const d = new CoreDriver({
    greeting: undefined,
    resume: [
      { kind: "user", itemId: "i1", transcript: "For sales, press 1.", at: 0 },
      {
        kind: "function_call",
        callId: "c1",
        name: "send_dtmf",
        arguments: '{"digits":"1"}',
        at: 1,
      },
      { kind: "function_call_output", callId: "c1", output: '{"ok":true}', at: 2 },
    ],
  });
  const sent = d.sentToOpenAI(d.startCall());
  assert.deepEqual(sent.map((e) => e.type), [
    "session.update",
    "conversation.item.create",
    "conversation.item.create",
    "conversation.item.create",
  ]);
  assert.deepEqual(sent[1].item, {
    type: "message",
    role: "user",
    content: [{ type: "input_text", text: "For sales, press 1." }],
  });
  assert.equal((sent[2].item as { name: string }).name, "send_dtmf");
  // The record of the new stream continues the old one.
  assert.equal(d.core.conversation.entries.length, 3);
});
