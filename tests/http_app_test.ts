import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";

/** An app with signature checks off (they are tested in security_http_test.ts). */
function app(env: Record<string, string> = {}) {
  return createApp({
    config: parseConfig({ OPENAI_API_KEY: KEY, TWILIO_SIGNATURE_CHECK: "off", ...env }),
  });
}

function post(path: string, body = "", headers: Record<string, string> = {}) {
  return new Request(`http://bridge.local:5050${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
}

Deno.test("POST /incoming-call connects the call to the media stream at PUBLIC_URL", async () => {
  const res = await app({ PUBLIC_URL: "https://voice.example.com" }).handler(
    post("/incoming-call", "CallSid=CA1&From=%2B14155550123"),
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/xml/);
  assert.equal(
    await res.text(),
    '<?xml version="1.0" encoding="UTF-8"?><Response>' +
      '<Connect action="https://voice.example.com/call-ended" method="POST">' +
      '<Stream url="wss://voice.example.com/media-stream">' +
      // The caller's number, masked, for the call record (STORE_CALLER_NUMBERS=false).
      '<Parameter name="caller" value="+14•••••••23"/></Stream></Connect></Response>',
  );
});

Deno.test("without PUBLIC_URL the stream URL comes from Host and X-Forwarded-Proto", async () => {
  const a = app();
  const viaTunnel = await (await a.handler(post("/incoming-call", "", {
    host: "abc.ngrok.app",
    "x-forwarded-proto": "https",
  }))).text();
  assert.match(viaTunnel, /<Stream url="wss:\/\/abc\.ngrok\.app\/media-stream"\/>/);
  assert.match(viaTunnel, /action="https:\/\/abc\.ngrok\.app\/call-ended"/);
  // A TLS proxy that does not send X-Forwarded-Proto (nginx's default): the stream URL is
  // still wss://, since Twilio only connects media streams over TLS.
  const plain = await (await a.handler(post("/incoming-call"))).text();
  assert.match(plain, /<Stream url="wss:\/\/bridge\.local:5050\/media-stream"\/>/);
  assert.match(plain, /action="http:\/\/bridge\.local:5050\/call-ended"/);
  const httpProto = await (await a.handler(post("/incoming-call", "", {
    host: "voice.example.com",
    "x-forwarded-proto": "http",
  }))).text();
  assert.match(httpProto, /<Stream url="wss:\/\/voice\.example\.com\/media-stream"\/>/);
});

Deno.test("a loopback http:// PUBLIC_URL still gives Twilio a wss:// stream URL", async () => {
  const res = await app({ PUBLIC_URL: "http://127.0.0.1:5050" }).handler(
    post("/incoming-call", "CallSid=CA1"),
  );
  const body = await res.text();
  assert.match(body, /<Stream url="wss:\/\/127\.0\.0\.1:5050\/media-stream"/);
  assert.match(body, /action="http:\/\/127\.0\.0\.1:5050\/call-ended"/);
});

Deno.test("a malformed Host header is refused, not reflected into TwiML", async () => {
  const res = await app().handler(post("/incoming-call", "", { host: 'evil"/><Play>x' }));
  assert.equal(res.status, 400);
});

Deno.test("/call-ended apologizes after failures and unknown calls, and just hangs up otherwise", async () => {
  const a = app();
  a.outcomes.record("CAok", "assistant_ended");
  a.outcomes.record("CAfail", "openai_error");
  const ok = await (await a.handler(post("/call-ended", "CallSid=CAok"))).text();
  assert.equal(ok, '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
  const failed = await (await a.handler(post("/call-ended", "CallSid=CAfail"))).text();
  assert.match(failed, /<Response><Say>Sorry, [^<]+<\/Say><Hangup\/><\/Response>/);
  const unknown = await (await a.handler(post("/call-ended", "CallSid=CAnever"))).text();
  assert.match(unknown, /<Say>/);
});

Deno.test("status page, wrong methods, unknown paths and plain GET on the stream path", async () => {
  const a = app();
  const status = await a.handler(new Request("http://x/"));
  assert.equal(status.status, 200);
  assert.match(await status.text(), /Active calls: 0/);
  const get = await a.handler(new Request("http://x/incoming-call"));
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  await get.body?.cancel();
  const missing = await a.handler(new Request("http://x/nope"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const noUpgrade = await a.handler(new Request("http://x/media-stream"));
  assert.equal(noUpgrade.status, 426);
  await noUpgrade.body?.cancel();
  const del = await a.handler(new Request("http://x/", { method: "DELETE" }));
  assert.equal(del.status, 405);
  await del.body?.cancel();
});
