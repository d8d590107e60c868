import assert from "node:assert/strict";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { BridgeHarness, sleep, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeTwilioCall, twilioSignature } from "./support/fake_twilio.ts";

const PHONE = "+14155550123";
const TWILIO_TOKEN = TEST_TWILIO_TOKEN;
const TOKEN_SECRET = "stream-token-secret-0123456789";

Deno.test("a whole call logged at debug level leaks no key, token or phone number", async () => {
  const lines: string[] = [];
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [TEST_API_KEY, TWILIO_TOKEN, TOKEN_SECRET],
    sink: (line) => lines.push(line),
  });
  const streamTokens: string[] = [];
  const bodies: string[] = [];
  try {
    await using h = await BridgeHarness.startSecure({
      TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
      STREAM_TOKEN_SECRET: TOKEN_SECRET,
      END_CALL_GRACE_SECONDS: "0",
      // The script's barge-in is the server's own (speech_started alone cancels).
      INTERRUPTION_RESUME: "false",
    }, { app: { hangUp: () => Promise.resolve() } });
    // Refused requests: their bodies and log lines must not echo anything secret either.
    for (const path of ["/incoming-call", "/call-ended"]) {
      const res = await fetch(`${h.server.localUrl}${path}`, {
        method: "POST",
        body: new URLSearchParams({ CallSid: "CA1", From: PHONE, Caller: PHONE }),
        headers: { "x-twilio-signature": await twilioSignature("wrong-token-123456", path) },
      });
      bodies.push(await res.text());
    }
    const refused = await FakeTwilioCall.connect({ url: h.mediaStreamUrl }).catch((e) => e);
    bodies.push(String(refused));
    const call = await h.signedCall({
      from: PHONE,
      customParameters: { note: `caller ${PHONE}` },
    });
    streamTokens.push(call.customParameters.streamToken);
    // A replayed token is refused; the refusal must not log the token.
    // The first strict schema check of the fake's session compiles the schema (~2 s under
    // load) while this upgrade waits: give it more than the default 2 s to open.
    const replay = await h.call({
      timeoutMs: 8000,
      callSid: call.callSid,
      headers: { "x-twilio-signature": await twilioSignature(TWILIO_TOKEN, h.twilioStreamUrl) },
      customParameters: { streamToken: call.customParameters.streamToken, n: `${PHONE}` },
    });
    await replay.closed;
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    call.sendFrames(5);
    call.sendDtmf("5");
    call.sendRaw("not json " + PHONE);
    const r = session.beginResponse();
    r.audio(audioBytes(0x11, 100));
    session.speechStarted();
    r.cancel();
    session.sendError("invalid_value", `Bad value ${TEST_API_KEY} for ${PHONE}`, "x");
    const r2 = session.beginResponse({ message: false });
    r2.functionCall("end_call", { reason: `caller ${PHONE} said bye` });
    r2.finish();
    await session.waitFor("response.create");
    const r3 = session.beginResponse();
    r3.audio(audioBytes(0x12, 50));
    r3.finish();
    await sleep(300);
    await call.hangUp();
    await h.waitForFinished(2);
  } finally {
    await disposeLogging();
  }
  const all = lines.join("\n");
  assert.ok(lines.length > 10, `expected a detailed debug log, got ${lines.length} lines`);
  assert.match(all, /Barge-in/);
  assert.match(all, /"callSid":"CA/);
  assert.match(all, /stream token reused/);
  assert.equal(streamTokens.length, 1);
  assert.match(streamTokens[0], /^v1\./);
  const secrets = [
    TEST_API_KEY,
    TWILIO_TOKEN,
    TOKEN_SECRET,
    PHONE,
    PHONE.slice(1),
    ...streamTokens,
  ];
  for (const secret of secrets) {
    assert.equal(all.includes(secret), false, `the log contains ${secret.slice(0, 4)}…`);
    for (const body of bodies) {
      assert.equal(body.includes(secret), false, `a response contains ${secret.slice(0, 4)}…`);
    }
  }
  // The stream token's MAC alone must not leak either.
  assert.equal(all.includes(streamTokens[0].split(".")[2]), false);
});
