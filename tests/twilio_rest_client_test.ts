import assert from "node:assert/strict";
import { TwilioRestClient, TwilioRestError } from "../src/twilio/rest_client.ts";
import { createTwilioHangUp } from "../src/twilio/rest_hang_up.ts";
import { BridgeHarness } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";

const SID = "AC0123456789abcdef0123456789abcdef";
const TOKEN = "0123456789abcdef0123456789abcdef";
const CALL = "CAfedcba9876543210fedcba9876543210";
const NUMBER = "+14155550123";

/** Expects `promise` to reject with a TwilioRestError; returns it. */
async function restError(promise: Promise<unknown>): Promise<TwilioRestError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TwilioRestError, String(error));
    return error;
  }
  throw new Error("expected a TwilioRestError");
}

Deno.test("Twilio REST client: basic auth, form-encoded hang-up, to the configured base URL", async () => {
  await using twilio = FakeTwilioRest.start({ accountSid: SID, authToken: TOKEN, calls: [CALL] });
  const hangUp = createTwilioHangUp({ accountSid: SID, authToken: TOKEN, baseUrl: twilio.baseUrl });
  await hangUp(CALL);
  assert.deepEqual(twilio.completed, [CALL]);
  const [request] = twilio.requests;
  assert.equal(request.method, "POST");
  assert.equal(request.path, `/2010-04-01/Accounts/${SID}/Calls/${CALL}.json`);
  assert.equal(request.contentType, "application/x-www-form-urlencoded");
  assert.equal(request.form.toString(), "Status=completed");
  assert.equal(request.authorized, true);
});

Deno.test("Twilio REST client: bad credentials are Twilio error 20003, named without the token", async () => {
  await using twilio = FakeTwilioRest.start({ accountSid: SID, authToken: TOKEN });
  const wrong = "ffffffffffffffffffffffffffffffff";
  const client = new TwilioRestClient({
    accountSid: SID,
    authToken: wrong,
    baseUrl: twilio.baseUrl,
  });
  const error = await restError(client.fetchAccount());
  assert.equal(error.status, 401);
  assert.equal(error.code, 20003);
  assert.equal(error.moreInfo, "https://www.twilio.com/docs/errors/20003");
  assert.equal(
    error.message,
    `Twilio REST GET /2010-04-01/Accounts/${SID}.json failed: HTTP 401, Twilio error 20003: Authenticate (see https://www.twilio.com/docs/errors/20003).`,
  );
  assert.equal(error.message.includes(wrong), false);
  assert.equal(twilio.requests[0].authorized, false);
});

Deno.test("Twilio REST client: the account, a number's webhook, an unknown call (20404)", async () => {
  await using twilio = FakeTwilioRest.start({
    accountSid: SID,
    authToken: TOKEN,
    numbers: [{ phoneNumber: NUMBER, voiceUrl: "https://example.com/incoming-call" }],
  });
  const client = new TwilioRestClient({
    accountSid: SID,
    authToken: TOKEN,
    baseUrl: twilio.baseUrl,
  });
  assert.equal((await client.fetchAccount()).status, "active");
  const number = await client.findIncomingPhoneNumber(NUMBER);
  assert.equal(number?.voice_url, "https://example.com/incoming-call");
  assert.equal(twilio.requests[1].query.get("PhoneNumber"), NUMBER);
  assert.equal(await client.findIncomingPhoneNumber("+14155550999"), undefined);
  const error = await restError(client.updateCall(CALL, { Status: "completed" }));
  assert.equal(error.status, 404);
  assert.equal(error.code, 20404);
  assert.match(error.message, /HTTP 404, Twilio error 20404: The requested resource/);
});

Deno.test("Twilio REST client: a non-JSON error, an unreachable host, and no phone number in messages", async () => {
  const html = new TwilioRestClient({
    accountSid: SID,
    authToken: TOKEN,
    fetch: () => Promise.resolve(new Response("<html>Bad Gateway</html>", { status: 502 })),
  });
  const bad = await restError(html.fetchAccount());
  assert.equal(bad.status, 502);
  assert.equal(bad.code, undefined);
  assert.match(bad.message, /HTTP 502, not a Twilio JSON error/);

  const echo = new TwilioRestClient({
    accountSid: SID,
    authToken: TOKEN,
    fetch: () =>
      Promise.resolve(
        Response.json(
          { code: 21211, message: `Invalid 'To' Phone Number: ${NUMBER}`, status: 400 },
          {
            status: 400,
          },
        ),
      ),
  });
  const invalid = await restError(echo.findIncomingPhoneNumber(NUMBER));
  assert.equal(invalid.code, 21211);
  assert.equal(invalid.message.includes(NUMBER), false, invalid.message);
  assert.match(invalid.message, /Phone Number: \+14•••••••23/);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const down = new TwilioRestClient({
    accountSid: SID,
    authToken: TOKEN,
    baseUrl: `http://127.0.0.1:${port}/`,
  });
  const unreachable = await restError(down.fetchAccount());
  assert.equal(unreachable.status, 0);
  assert.match(
    unreachable.message,
    /could not reach http:\/\/127\.0\.0\.1:\d+ .*TWILIO_API_BASE_URL/,
  );
});

Deno.test("end_call with Twilio credentials: the hang-up goes to TWILIO_API_BASE_URL", async () => {
  await using twilio = FakeTwilioRest.start({ accountSid: SID, authToken: TOKEN });
  await using h = await BridgeHarness.start({
    END_CALL_GRACE_SECONDS: "0",
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: twilio.baseUrl,
  });
  const call = await h.call({ callSid: CALL });
  twilio.addCall(CALL);
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const r1 = session.beginResponse({ message: false });
  r1.functionCall("end_call", {});
  r1.finish();
  await session.waitFor("response.create");
  const r2 = session.beginResponse();
  r2.audio(audioBytes(0x42, 100));
  r2.finish();
  const start = performance.now();
  while (twilio.completed.length === 0 && performance.now() - start < 5000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(twilio.completed, [CALL], "hung up through the fake Twilio REST API");
  assert.equal(twilio.requests[0].form.get("Status"), "completed");
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "assistant_ended");
});

Deno.test("Twilio REST client: an endless answer is refused at 256 KiB, never read whole", async () => {
  let pulled = 0;
  const endless = new TwilioRestClient({
    accountSid: SID,
    authToken: TOKEN,
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled++;
              controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
            },
          }),
        ),
      ),
  });
  const error = await restError(endless.fetchAccount());
  assert.match(error.message, /the answer was over 262144 bytes/);
  assert.ok(pulled <= 6, `read ${pulled} chunks`);
});
