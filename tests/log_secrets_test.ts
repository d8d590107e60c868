import assert from "node:assert/strict";
import { configureLogging, disposeLogging } from "../src/logging.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";

const PHONE = "+14155550123";
const TWILIO_TOKEN = "0123456789abcdef0123456789abcdef";

Deno.test("a whole call logged at debug level leaks no key, token or phone number", async () => {
  const lines: string[] = [];
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [TEST_API_KEY, TWILIO_TOKEN],
    sink: (line) => lines.push(line),
  });
  try {
    await using h = await BridgeHarness.start({
      TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      END_CALL_GRACE_SECONDS: "0",
    }, { app: { hangUp: () => Promise.resolve() } });
    const webhook = await h.server.app.handler(
      new Request("http://127.0.0.1/incoming-call", {
        method: "POST",
        body: new URLSearchParams({ CallSid: "CA1", From: PHONE, Caller: PHONE, To: PHONE })
          .toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    await webhook.text();
    const call = await h.call({ customParameters: { note: `caller ${PHONE}` } });
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
    await h.waitForFinished(1);
  } finally {
    await disposeLogging();
  }
  const all = lines.join("\n");
  assert.ok(lines.length > 10, `expected a detailed debug log, got ${lines.length} lines`);
  assert.match(all, /Barge-in/);
  assert.match(all, /"callSid":"CA/);
  for (const secret of [TEST_API_KEY, TWILIO_TOKEN, PHONE, PHONE.slice(1)]) {
    assert.equal(all.includes(secret), false, `the log contains ${secret.slice(0, 4)}…`);
  }
});
