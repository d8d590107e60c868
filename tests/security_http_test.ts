import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { securityWarnings } from "../src/security/call_admission.ts";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { twilioSignature } from "./support/fake_twilio.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";
const TOKEN = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6";
const FORM = {
  CallSid: "CA0123456789abcdef0123456789abcdef",
  From: "+14155550123",
  To: "+14155550199",
};

function app(env: Record<string, string> = {}) {
  return createApp({
    config: parseConfig({ OPENAI_API_KEY: KEY, TWILIO_AUTH_TOKEN: TOKEN, ...env }),
  });
}

/** A POST as Twilio sends it, signed over `signedUrl` (default: the request URL). */
async function signedPost(
  url: string,
  form: Record<string, string> = FORM,
  options: { signedUrl?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Request> {
  const signature = await twilioSignature(options.token ?? TOKEN, options.signedUrl ?? url, form);
  return new Request(url, {
    method: "POST",
    body: new URLSearchParams(form).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": signature,
      ...options.headers,
    },
  });
}

/** Runs `fn` with logging captured; returns the JSON log lines. */
async function captureLogs(fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [KEY, TOKEN],
    sink: (l) => lines.push(l),
  });
  try {
    await fn();
  } finally {
    await disposeLogging();
  }
  return lines.map((l) => JSON.parse(l));
}

Deno.test("a signed /incoming-call gets TwiML with a stream token parameter", async () => {
  const res = await app().handler(await signedPost("http://bridge.local:5050/incoming-call"));
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.match(body, /<Stream url="wss:\/\/bridge\.local:5050\/media-stream">/);
  assert.match(body, /<Parameter name="streamToken" value="v1\.\d+\.[A-Za-z0-9_-]{43}"\/>/);
});

Deno.test("unsigned or wrongly signed webhooks get 403, no TwiML, and one log line each", async () => {
  const a = app();
  const url = "http://bridge.local:5050/incoming-call";
  const unsigned = new Request(url, { method: "POST", body: new URLSearchParams(FORM) });
  const wrongToken = await signedPost(url, FORM, { token: "f".repeat(32) });
  const tampered = await signedPost(url, FORM);
  const tamperedBody = new Request(tampered, {
    body: new URLSearchParams({ ...FORM, To: "+1900" }),
  });
  const otherUrl = await signedPost(url, FORM, { signedUrl: "http://bridge.local:5050/other" });
  const logs = await captureLogs(async () => {
    for (const request of [unsigned, wrongToken, tamperedBody, otherUrl]) {
      const res = await a.handler(request);
      assert.equal(res.status, 403);
      const text = await res.text();
      assert.doesNotMatch(text, /<Response|Stream/);
      assert.equal(text.includes(TOKEN), false);
    }
  });
  const refused = logs.filter((l) => /^Refused a request/.test(String(l.message)));
  assert.equal(refused.length, 4, JSON.stringify(logs));
  assert.equal(logs.length, 4, "nothing else is logged");
  assert.match(String(refused[0].message), /without an X-Twilio-Signature/);
  assert.match(String(refused[1].message), /invalid X-Twilio-Signature/);
});

Deno.test("behind a TLS proxy the signature is checked over the public https URL", async () => {
  const a = app();
  // Twilio requested https://voice.example.com/incoming-call?tenant=7; the server sees plain http.
  const request = await signedPost("http://10.0.0.5:5050/incoming-call?tenant=7", FORM, {
    signedUrl: "https://voice.example.com/incoming-call?tenant=7",
    headers: { host: "voice.example.com", "x-forwarded-proto": "https" },
  });
  const res = await a.handler(request);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<Stream url="wss:\/\/voice\.example\.com\/media-stream">/);
  // With PUBLIC_URL the Host header does not matter.
  const fixed = app({ PUBLIC_URL: "https://bridge.example.org" });
  const viaPublic = await signedPost("http://127.0.0.1:5050/incoming-call", FORM, {
    signedUrl: "https://bridge.example.org/incoming-call",
    headers: { host: "attacker.example" },
  });
  assert.equal((await fixed.handler(viaPublic)).status, 200);
  const wrongHost = await signedPost("http://127.0.0.1:5050/incoming-call", FORM, {
    signedUrl: "https://attacker.example/incoming-call",
    headers: { host: "attacker.example" },
  });
  const refused = await fixed.handler(wrongHost);
  assert.equal(refused.status, 403);
  await refused.body?.cancel();
});

Deno.test("a PUBLIC_URL with a path prefix works behind a proxy that strips it (nginx location /voice/)", async () => {
  const a = app({ PUBLIC_URL: "https://voice.example.com/voice" });
  // Twilio requested https://voice.example.com/voice/incoming-call; the proxy forwarded /incoming-call.
  const request = await signedPost("http://127.0.0.1:5050/incoming-call", FORM, {
    signedUrl: "https://voice.example.com/voice/incoming-call",
  });
  const res = await a.handler(request);
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.match(body, /<Stream url="wss:\/\/voice\.example\.com\/voice\/media-stream">/);
  assert.match(body, /action="https:\/\/voice\.example\.com\/voice\/call-ended"/);
});

Deno.test("/call-ended is signed too (POST form and GET query)", async () => {
  const a = app();
  a.outcomes.record(FORM.CallSid, "assistant_ended");
  const ok = await a.handler(
    await signedPost("http://bridge.local/call-ended", { CallSid: FORM.CallSid }),
  );
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /<Hangup\/>/);
  const getUrl = `http://bridge.local/call-ended?CallSid=${FORM.CallSid}`;
  const get = await a.handler(
    new Request(getUrl, {
      headers: { "x-twilio-signature": await twilioSignature(TOKEN, getUrl) },
    }),
  );
  assert.equal(get.status, 200);
  await get.body?.cancel();
  const unsigned = await a.handler(
    new Request("http://bridge.local/call-ended", { method: "POST" }),
  );
  assert.equal(unsigned.status, 403);
  await unsigned.body?.cancel();
});

Deno.test("without TWILIO_AUTH_TOKEN every call is refused unless TWILIO_SIGNATURE_CHECK=off", async () => {
  const env = { OPENAI_API_KEY: KEY };
  const closed = createApp({ config: parseConfig(env) });
  const res = await closed.handler(await signedPost("http://bridge.local/incoming-call"));
  assert.equal(res.status, 403);
  await res.body?.cancel();
  const upgrade = await closed.handler(
    new Request("http://bridge.local/media-stream", { headers: { upgrade: "websocket" } }),
  );
  assert.equal(upgrade.status, 403);
  await upgrade.body?.cancel();
  assert.match(
    securityWarnings(parseConfig(env))[0],
    /TWILIO_AUTH_TOKEN is not set, so every call is refused/,
  );
  assert.doesNotMatch(securityWarnings(parseConfig(env))[0], /softphone/);
  assert.match(
    securityWarnings(parseConfig({ ...env, SOFTPHONE: "on" }))[0],
    /every call is refused.*Browser softphone calls are not affected\.$/,
  );

  const openConfig = parseConfig({ ...env, TWILIO_SIGNATURE_CHECK: "off" });
  assert.match(securityWarnings(openConfig)[0], /TWILIO_SIGNATURE_CHECK=off/);
  const open = createApp({ config: openConfig });
  const body = await (await open.handler(
    new Request("http://bridge.local/incoming-call", { method: "POST", body: "CallSid=CA1" }),
  )).text();
  assert.match(
    body,
    /<Stream url="wss:\/\/bridge\.local\/media-stream"\/>/,
    "no stream token when off",
  );
  assert.deepEqual(securityWarnings(parseConfig({ ...env, TWILIO_AUTH_TOKEN: TOKEN })), []);
});

Deno.test("a 5 MB webhook body gets 413 before it is read", async () => {
  const a = app();
  const declared = new Request("http://bridge.local/incoming-call", {
    method: "POST",
    body: "x".repeat(5 * 1024 * 1024),
    headers: { "x-twilio-signature": "irrelevant" },
  });
  const res = await a.handler(declared);
  assert.equal(res.status, 413);
  await res.body?.cancel();
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(64 * 1024));
      if (pulled === 80) controller.close(); // 5 MiB without a Content-Length
    },
  });
  const chunked = await a.handler(
    new Request("http://bridge.local/call-ended", { method: "POST", body: stream }),
  );
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  assert.ok(pulled <= 3, `pulled ${pulled} chunks of 64 KiB`);
});

Deno.test("unknown paths, wrong methods and a WebSocket upgrade on the webhook path get 4xx", async () => {
  const a = app();
  const cases: [Request, number][] = [
    [new Request("http://x/admin"), 404],
    [new Request("http://x/../etc/passwd"), 404],
    [new Request("http://x/incoming-call", { method: "PUT", body: "x" }), 405],
    [new Request("http://x/incoming-call", { method: "DELETE" }), 405],
    [new Request("http://x/media-stream", { method: "POST", body: "x" }), 405],
    [new Request("http://x/call-ended", { method: "PATCH", body: "x" }), 405],
    [
      new Request("http://x/incoming-call", {
        headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "x" },
      }),
      405,
    ],
    [new Request("http://x/media-stream"), 426],
  ];
  for (const [request, status] of cases) {
    const res = await a.handler(request);
    assert.equal(res.status, status, `${request.method} ${request.url}`);
    await res.body?.cancel();
  }
});

Deno.test("a flood of unsigned requests costs a handful of log lines, not one per request", async () => {
  const a = app();
  const logs = await captureLogs(async () => {
    for (let i = 0; i < 300; i++) {
      const res = await a.handler(
        new Request("http://x/incoming-call", { method: "POST", body: "CallSid=CA1" }),
      );
      assert.equal(res.status, 403);
      await res.body?.cancel();
    }
  });
  assert.ok(logs.length >= 1 && logs.length <= 5, `${logs.length} log lines`);
});
