import assert from "node:assert/strict";
import {
  formParams,
  isValidTwilioSignature,
  webhookUrl,
} from "../src/security/twilio_signature.ts";
import { StreamTokens } from "../src/security/stream_token.ts";
import { LogThrottle, readCappedText, StreamGuard } from "../src/security/limits.ts";
import { twilioSignature } from "./support/fake_twilio.ts";

const VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
const VECTOR_PARAMS = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+12349013030",
  Digits: "1234",
  From: "+12349013030",
  To: "+18005551212",
};

Deno.test("Twilio's published signature test vector validates, and any change breaks it", () => {
  const base = { authToken: "12345", url: VECTOR_URL, params: VECTOR_PARAMS };
  assert.equal(
    isValidTwilioSignature({ ...base, signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" }),
    true,
  );
  // The older docs vector (Caller and From +14158675309).
  assert.equal(
    isValidTwilioSignature({
      ...base,
      params: { ...VECTOR_PARAMS, Caller: "+14158675309", From: "+14158675309" },
      signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    }),
    true,
  );
  const good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
  assert.equal(isValidTwilioSignature({ ...base, authToken: "12346", signature: good }), false);
  assert.equal(
    isValidTwilioSignature({
      ...base,
      params: { ...VECTOR_PARAMS, Digits: "1235" },
      signature: good,
    }),
    false,
  );
  assert.equal(
    isValidTwilioSignature({ ...base, url: VECTOR_URL.replace("foo=1", "foo=2"), signature: good }),
    false,
  );
  assert.equal(isValidTwilioSignature({ ...base, signature: good.replace("0", "1") }), false);
  for (const signature of ["", null, undefined, "x".repeat(10_000)]) {
    assert.equal(isValidTwilioSignature({ ...base, signature }), false);
  }
  assert.equal(isValidTwilioSignature({ ...base, url: "not a url", signature: good }), false);
});

Deno.test("the media-stream upgrade signature is over the wss:// URL with no parameters", async () => {
  const url = "wss://example.com/media-stream";
  assert.equal(
    isValidTwilioSignature({ authToken: "12345", url, signature: "XFfwGS2Ev7f9qAP9MmRoMS7C724=" }),
    true,
  );
  assert.equal(
    isValidTwilioSignature({
      authToken: "12345",
      url: "https://example.com/media-stream",
      signature: "XFfwGS2Ev7f9qAP9MmRoMS7C724=",
    }),
    false,
  );
  // The test helper (WebCrypto, written from the spec) agrees with the SDK.
  assert.equal(await twilioSignature("12345", url), "XFfwGS2Ev7f9qAP9MmRoMS7C724=");
  assert.equal(
    await twilioSignature("12345", VECTOR_URL, VECTOR_PARAMS),
    "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
  );
});

Deno.test("form parameters keep repeated names; the webhook URL uses the public base", () => {
  assert.deepEqual(formParams(new URLSearchParams("b=2&a=1&a=0")), { b: "2", a: ["1", "0"] });
  const request = new Request("http://10.0.0.7:5050/call-ended?attempt=2", { method: "POST" });
  assert.equal(
    webhookUrl(request, "https://voice.example.com"),
    "https://voice.example.com/call-ended?attempt=2",
  );
});

Deno.test("stream tokens: bound to the CallSid, single use, short-lived, shared secret across instances", () => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const a = new StreamTokens({ secret: "shared-secret-0123456789", ttlMs: 60_000, now: clock });
  const b = new StreamTokens({ secret: "shared-secret-0123456789", ttlMs: 60_000, now: clock });
  const other = new StreamTokens({ secret: "another-secret-987654321", now: clock });
  const token = a.issue("CA1");
  assert.match(token, /^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(other.verify("CA1", token), { ok: false, reason: "bad_signature" });
  assert.deepEqual(a.verify("CA2", token), { ok: false, reason: "bad_signature" });
  assert.deepEqual(b.verify("CA1", token), { ok: true }, "any instance with the secret accepts it");
  assert.deepEqual(b.verify("CA1", token), { ok: false, reason: "reused" });
  assert.deepEqual(a.verify("CA1", undefined), { ok: false, reason: "missing" });
  assert.deepEqual(a.verify("CA1", "v1.abc.def"), { ok: false, reason: "malformed" });
  // A forged expiry breaks the MAC.
  const [, expiry, mac] = a.issue("CA3").split(".");
  assert.deepEqual(a.verify("CA3", `v1.${Number(expiry) + 3600}.${mac}`), {
    ok: false,
    reason: "bad_signature",
  });
  const late = a.issue("CA4");
  now += 61_000;
  assert.deepEqual(a.verify("CA4", late), { ok: false, reason: "expired" });
  // The default secret is random per process: two default instances do not trust each other.
  assert.equal(new StreamTokens().verify("CA5", new StreamTokens().issue("CA5")).ok, false);
});

Deno.test("stream tokens: the memory of used tokens is bounded and forgets expired ones", () => {
  let now = 0;
  const tokens = new StreamTokens({
    secret: "x".repeat(16),
    ttlMs: 1000,
    maxRemembered: 50,
    now: () => now,
  });
  for (let i = 0; i < 200; i++) {
    assert.equal(tokens.verify(`CA${i}`, tokens.issue(`CA${i}`)).ok, true);
  }
  assert.equal(tokens.rememberedCount, 50);
  now += 5000;
  assert.equal(tokens.verify("CAnew", tokens.issue("CAnew")).ok, true);
  assert.equal(tokens.rememberedCount, 1);
});

Deno.test("readCappedText refuses big bodies from Content-Length or while streaming, reading no further", async () => {
  const declared = new Request("http://x/", {
    method: "POST",
    body: "a=1",
    headers: { "content-length": String(5 * 1024 * 1024) },
  });
  assert.deepEqual(await readCappedText(declared, 1024), { ok: false, tooLarge: true });
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  const chunked = new Request("http://x/", { method: "POST", body: endless });
  assert.deepEqual(await readCappedText(chunked, 10 * 1024), { ok: false, tooLarge: true });
  assert.ok(pulled <= 13, `read ${pulled} chunks of an endless body`);
  assert.deepEqual(
    await readCappedText(new Request("http://x/", { method: "POST", body: "CallSid=CA1" }), 100),
    { ok: true, text: "CallSid=CA1" },
  );
});

Deno.test("StreamGuard: binary, oversize, floods and invalid messages get close codes", () => {
  const guard = new StreamGuard({
    maxMessageBytes: 100,
    maxMessagesPerSecond: 10,
    maxInvalidMessages: 3,
  });
  assert.deepEqual(guard.screen(new Uint8Array(4), 0), {
    action: "close",
    code: 1003,
    reason: "binary frames are not supported",
  });
  assert.deepEqual(guard.screen("x".repeat(101), 0), {
    action: "close",
    code: 1009,
    reason: "message too big",
  });
  const rate = new StreamGuard({ maxMessagesPerSecond: 10 });
  const verdicts = Array.from({ length: 11 }, (_, i) => rate.screen("{}", i).action);
  assert.deepEqual(verdicts.slice(0, 10), Array(10).fill("accept"));
  assert.equal(verdicts[10], "close");
  assert.equal(rate.screen("{}", 1000).action, "accept", "a new second, a new budget");
  assert.deepEqual([guard.invalid(), guard.invalid(), guard.invalid()], [
    { log: true },
    { log: false },
    { log: false },
  ]);
  assert.deepEqual(guard.invalid().close, { code: 1008, reason: "too many invalid messages" });
});

Deno.test("LogThrottle lets a few lines per window through and counts the rest", () => {
  const throttle = new LogThrottle({ limit: 2, windowMs: 1000 });
  const results = Array.from({ length: 50 }, (_, i) => throttle.take("k", i));
  assert.equal(results.filter((r) => r.log).length, 2);
  assert.deepEqual(throttle.take("k", 1000), { log: true, suppressed: 48 });
  assert.deepEqual(throttle.take("other", 1000), { log: true, suppressed: 0 });
});
