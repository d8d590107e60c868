/**
 * End to end over real sockets: only Twilio can start a call, and hostile or
 * broken input gets an orderly answer without hurting other calls.
 */
import assert from "node:assert/strict";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { BridgeHarness, sleep, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { audioBytes, type FakeRealtimeSession } from "./support/fake_realtime.ts";
import { FakeTwilioCall, twilioSignature } from "./support/fake_twilio.ts";
import { withTimeout } from "./support/wait.ts";

/** Waits until `predicate` holds (polling), or fails with `what`. */
async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Waits for the bridge to close an OpenAI session. */
function sessionClosed(session: FakeRealtimeSession) {
  return withTimeout(session.closed, 3000, "the bridge did not close the OpenAI session");
}

/** Captures JSON log lines at debug level while `fn` runs. */
async function captureLogs(fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [TEST_API_KEY, TEST_TWILIO_TOKEN],
    sink: (line) => lines.push(line),
  });
  try {
    await fn();
  } finally {
    await disposeLogging();
  }
  return lines.map((line) => JSON.parse(line));
}

Deno.test("a properly signed call with its stream token is bridged", async () => {
  await using h = await BridgeHarness.startSecure();
  const call = await h.signedCall();
  assert.match(call.customParameters.streamToken, /^v1\./);
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  call.sendFrames(5, 0x42);
  const response = session.beginResponse();
  response.audio(audioBytes(0x21, 100));
  response.finish();
  await call.waitFor((m) => m.event === "media");
  await until(() => session.inputAudio.bytes === 5 * 160, "caller audio at OpenAI");
  assert.deepEqual(session.schemaErrors, []);
  assert.deepEqual(call.protocolErrors, []);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
});

Deno.test("upgrades without a valid signature are refused and open no OpenAI session", async () => {
  await using h = await BridgeHarness.startSecure();
  const streamUrl = h.mediaStreamUrl;
  const attempts: (HeadersInit | undefined)[] = [
    undefined,
    { "x-twilio-signature": "XFfwGS2Ev7f9qAP9MmRoMS7C724=" },
    { "x-twilio-signature": await twilioSignature("0".repeat(32), streamUrl) },
    // Signed, but over the ws:// URL the fake connects to, not the wss:// one of the TwiML.
    { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, streamUrl) },
    // Signed, but over the https URL instead of the wss:// one from the TwiML.
    {
      "x-twilio-signature": await twilioSignature(
        TEST_TWILIO_TOKEN,
        streamUrl.replace("ws", "http"),
      ),
    },
  ];
  for (const headers of attempts) {
    await assert.rejects(
      FakeTwilioCall.connect({ url: streamUrl, ...(headers ? { headers } : {}) }),
      /did not open/,
    );
  }
  await sleep(100);
  assert.equal(h.realtime.sessions.length, 0, "no OpenAI session was opened");
  assert.equal(h.realtime.refused.length, 0, "not even attempted");
  assert.equal(h.server.app.calls.size, 0);
});

Deno.test("a signed upgrade without the right stream token is closed with 1008 and its session closed", async () => {
  await using h = await BridgeHarness.startSecure();
  const signature = await twilioSignature(TEST_TWILIO_TOKEN, h.twilioStreamUrl);
  const good = await h.signedCall();
  const token = good.customParameters.streamToken;
  const cases: [Record<string, string>, string | undefined, string][] = [
    [{}, undefined, "stream token missing"],
    [{ streamToken: "v1.1.abc" }, undefined, "stream token malformed"],
    [{ streamToken: token }, "CA00000000000000000000000000000bad", "stream token bad signature"],
  ];
  const goodSession = await h.realtime.nextSession();
  for (const [customParameters, callSid, reason] of cases) {
    const call = await h.call({
      headers: { "x-twilio-signature": signature },
      customParameters,
      ...(callSid ? { callSid } : {}),
    });
    const closed = await withTimeout(call.closed, 3000, "the bridge did not close the stream");
    assert.deepEqual(closed, { code: 1008, reason });
    await sessionClosed(await h.realtime.nextSession());
  }
  // The legitimate call is untouched; once it ends, its token cannot be replayed.
  assert.ok(good.isOpen);
  assert.ok(goodSession.isOpen);
  await good.hangUp();
  const replay = await h.call({
    headers: { "x-twilio-signature": signature },
    callSid: good.callSid,
    customParameters: { streamToken: token },
  });
  assert.deepEqual(await withTimeout(replay.closed, 3000, "replay not closed"), {
    code: 1008,
    reason: "stream token reused",
  });
  const summaries = await h.waitForFinished(5);
  assert.deepEqual(
    summaries.map((s) => s.outcome).sort(),
    ["caller_hung_up", "refused", "refused", "refused", "refused"],
  );
});

Deno.test("MAX_CONCURRENT_CALLS: the webhook answers busy and extra streams are refused", async () => {
  await using h = await BridgeHarness.startSecure({ MAX_CONCURRENT_CALLS: "1" });
  const first = await h.signedCall();
  await h.realtime.nextSession();
  const busy = await h.webhook({ CallSid: "CA0000000000000000000000000000busy" });
  assert.equal(busy.status, 200);
  assert.match(busy.body, /<Response><Reject reason="busy"\/><\/Response>/);
  assert.equal(busy.streamUrl, undefined);
  await assert.rejects(
    FakeTwilioCall.connect({
      url: h.mediaStreamUrl,
      headers: {
        "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, h.twilioStreamUrl),
      },
    }),
    /did not open/,
  );
  await sleep(50);
  assert.equal(h.realtime.sessions.length, 1);
  await first.hangUp();
  await h.waitForFinished(1);
  const next = await h.webhook({ CallSid: "CA00000000000000000000000000000ok" });
  assert.ok(next.streamUrl, "a slot is free again");
});

Deno.test("hostile frames close only their own stream, with a close code and one log line", async () => {
  await using h = await BridgeHarness.startSecure();
  const bystander = await h.signedCall();
  const bystanderSession = await h.realtime.nextSession();
  await bystanderSession.waitFor("session.update");
  const cases: [string, (call: FakeTwilioCall) => void, { code: number; reason: string }][] = [
    ["1 MiB", (c) => c.sendRaw("x".repeat(1024 * 1024)), { code: 1009, reason: "message too big" }],
    ["binary", (c) => c.sendBinary(new Uint8Array([1, 2, 3])), {
      code: 1003,
      reason: "binary frames are not supported",
    }],
    ["junk burst", (c) => {
      for (let i = 0; i < 5000; i++) c.sendRaw(i % 2 ? "not json" : '{"no":"event"}');
    }, { code: 1008, reason: "too many invalid messages" }],
    ["media burst", (c) => c.sendFrames(3000), { code: 1008, reason: "message rate too high" }],
  ];
  for (const [name, attack, expected] of cases) {
    const finishedBefore = h.finished.length;
    const lines = await captureLogs(async () => {
      const call = await h.signedCall();
      const session = await h.realtime.nextSession();
      await session.waitFor("session.update");
      attack(call);
      const closed = await withTimeout(call.closed, 5000, `${name}: stream not closed`);
      if (name.endsWith("burst")) {
        // The bridge sends the same close frame, but Deno's WebSocket server drops the TCP
        // connection when data frames keep arriving after it, so the flooder may see a reset.
        assert.ok(closed.code === expected.code || closed.code === 0 || closed.code === 1006);
      } else {
        assert.deepEqual(closed, expected, name);
      }
      await sessionClosed(session);
      await until(() => h.finished.length === finishedBefore + 1, `${name}: call finished`);
      const summary = h.finished[h.finished.length - 1];
      assert.equal(summary.outcome, "refused");
      assert.equal(summary.reason, `Refused: ${expected.reason}.`);
    });
    const warnings = lines.filter((l) => l.level === "warning" || l.level === "error");
    // One line for the refusal (the junk burst adds one for its first invalid message).
    assert.equal(
      warnings.length,
      name === "junk burst" ? 2 : 1,
      `${name}: ${JSON.stringify(warnings)}`,
    );
    assert.match(String(warnings[warnings.length - 1].message), /^Refused the media stream/);
    assert.ok(lines.length < 20, `${name}: ${lines.length} log lines`);
  }
  // The bystander call still flows both ways.
  bystander.sendFrames(3, 0x44);
  await until(() => bystanderSession.inputAudio.bytes >= 3 * 160, "bystander audio");
  const r = bystanderSession.beginResponse();
  r.audio(audioBytes(0x23, 60));
  r.finish();
  await bystander.waitFor((m) => m.event === "media");
  assert.ok(bystander.isOpen && bystanderSession.isOpen);
});

Deno.test("junk, out-of-order and duplicate Twilio messages are ignored; the call goes on", async () => {
  await using h = await BridgeHarness.startSecure();
  let call!: FakeTwilioCall;
  let session!: FakeRealtimeSession;
  const lines = await captureLogs(async () => {
    call = await h.signedCall({ sendStart: false });
    session = await h.realtime.nextSession();
    call.sendFrames(3); // media before start
    call.sendStart();
    await session.waitFor("session.update");
    // 20 rounds: 80 invalid messages, under the budget of 100 per connection.
    for (let i = 0; i < 20; i++) {
      call.sendRaw("{oops");
      call.sendRaw('{"event":42}');
      call.sendRaw('{"event":"surprise","streamSid":"MZ1"}');
      call.sendRaw('{"event":"start","start":{"callSid":"CA1"}}');
      call.sendRaw(
        JSON.stringify({ event: "media", streamSid: "MZother", media: { payload: "AAAA" } }),
      );
      call.sendRaw(
        JSON.stringify({ event: "mark", streamSid: call.streamSid, mark: { name: `x${i}` } }),
      );
    }
    call.sendFrames(4, 0x45);
    await until(() => session.inputAudio.chunks.length >= 4, "real audio after the junk");
    assert.ok(call.isOpen);
    call.sendStop();
    call.sendStop();
    await withTimeout(session.closed, 3000, "OpenAI session not closed after stop");
    await call.close();
    await h.waitForFinished(1);
  });
  assert.equal(h.finished[0].outcome, "caller_hung_up");
  // Media before start was not forwarded; only the 4 real frames were.
  assert.equal(session.inputAudio.bytes, 4 * 160);
  const ignored = lines.filter((l) => /Ignored/.test(String(l.message)));
  assert.ok(ignored.length <= 4, `one line per kind of junk: ${JSON.stringify(ignored)}`);
  assert.ok(lines.length < 25, `${lines.length} log lines for 120 junk messages`);
});

Deno.test("an abrupt TCP close ends the call and closes its OpenAI session", async () => {
  await using h = await BridgeHarness.startSecure();
  const port = h.server.port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const signature = await twilioSignature(TEST_TWILIO_TOKEN, h.twilioStreamUrl);
  await conn.write(new TextEncoder().encode(
    `GET /media-stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      `Sec-WebSocket-Version: 13\r\nX-Twilio-Signature: ${signature}\r\n\r\n`,
  ));
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 101/);
  const session = await h.realtime.nextSession();
  conn.close(); // no close frame, no stop
  await sessionClosed(session);
  const [summary] = await h.waitForFinished(1);
  // Without `stop` the stream was lost, not hung up (the call may resume in a new stream).
  assert.equal(summary.outcome, "stream_lost");
});

Deno.test("malformed events from OpenAI are ignored with a few log lines; the call goes on", async () => {
  await using h = await BridgeHarness.startSecure();
  const call = await h.signedCall();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const lines = await captureLogs(async () => {
    for (let i = 0; i < 100; i++) {
      session.send({ type: "response.output_audio.delta" }, { validate: false });
      session.send({ type: "response.created", response: 7 }, { validate: false });
      session.send({ type: "never.heard.of.it", payload: i }, { validate: false });
    }
    const r = session.beginResponse();
    r.audio(audioBytes(0x24, 40));
    r.finish();
    await call.waitFor((m) => m.event === "media");
  });
  const warnings = lines.filter((l) => l.level === "warning");
  assert.ok(
    warnings.length >= 1 && warnings.length <= 3,
    `${warnings.length} warnings for 200 malformed events`,
  );
  assert.ok(call.isOpen && session.isOpen);
  assert.deepEqual(call.protocolErrors, []);
});

Deno.test("MAX_CALL_SECONDS: the assistant says goodbye, then the call is hung up", async () => {
  await using h = await BridgeHarness.startSecure({
    MAX_CALL_SECONDS: "1",
    END_CALL_GRACE_SECONDS: "0",
  });
  const call = await h.signedCall();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const started = performance.now();
  const wrapUp = await session.waitFor(
    "response.create",
    (e) => /time limit/.test(e.response?.instructions ?? ""),
    3000,
  );
  assert.equal(wrapUp.response.tool_choice, "none");
  assert.ok(performance.now() - started >= 900, "not before the limit");
  const bye = session.beginResponse();
  bye.audio(audioBytes(0x61, 200));
  bye.finish();
  const closed = await withTimeout(call.closed, 3000, "the call was not hung up");
  assert.deepEqual(closed, { code: 1000, reason: "call ended" });
  assert.ok(Math.abs(call.playedMs(0x61) - 200) <= 5, `the caller heard ${call.playedMs(0x61)} ms`);
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "assistant_ended");
  assert.equal(summary.reason, "Maximum call duration reached.");
  assert.deepEqual(session.schemaErrors, []);
});
