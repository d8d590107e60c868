import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { startServer } from "../src/http/server.ts";
import { SOFTPHONE_TOKEN_TTL_MS, SoftphoneTokens } from "../src/softphone/softphone_token.ts";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall, softphoneCall } from "./support/fake_twilio.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";

function app(env: Record<string, string> = {}, tokens?: SoftphoneTokens) {
  return createApp({
    config: parseConfig({ OPENAI_API_KEY: KEY, TWILIO_SIGNATURE_CHECK: "off", ...env }),
    ...(tokens ? { softphoneTokens: tokens } : {}),
  });
}

function request(path: string, init: RequestInit = {}) {
  return new Request(`http://localhost:5050${path}`, init);
}

Deno.test("SOFTPHONE is off by default: GET / is the status text and the softphone routes do not exist", async () => {
  const a = app();
  const res = await a.handler(request("/"));
  assert.match(await res.text(), /Phone voice-agent bridge is running/);
  assert.equal((await a.handler(request("/softphone/token", { method: "POST" }))).status, 404);
  assert.equal((await a.handler(request("/softphone/softphone.js"))).status, 404);
  assert.equal(parseConfig({ OPENAI_API_KEY: KEY }).softphone, false);
  assert.equal(parseConfig({ OPENAI_API_KEY: KEY, SOFTPHONE: "on" }).softphone, true);
  assert.throws(
    () => parseConfig({ OPENAI_API_KEY: KEY, SOFTPHONE: "maybe" }),
    /SOFTPHONE must be a boolean \(true, false, 1, 0, yes, no, on or off\), got "maybe"/,
  );
});

Deno.test("SOFTPHONE=on serves the page and its scripts (from the module graph, so compiled binaries have them)", async () => {
  const a = app({ SOFTPHONE: "on" });
  const page = await a.handler(request("/"));
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  const html = await page.text();
  assert.match(html, /<button id="call"/);
  assert.match(html, /<script type="module" src="\/softphone\/softphone.js">/);
  for (
    const path of [
      "/softphone/softphone.js",
      "/audio/mulaw.js",
      "/audio/frames.js",
      "/softphone/resample.js",
      "/softphone/live_view.js",
    ]
  ) {
    const res = await a.handler(request(path));
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", /text\/javascript/);
    const source = await res.text();
    assert.equal(source, await Deno.readTextFile(new URL(`../src${path}`, import.meta.url)));
  }
  assert.equal((await a.handler(request("/softphone/token"))).status, 405);
  // The other routes still work.
  const twiml = await a.handler(request("/incoming-call", { method: "POST", body: "CallSid=CA1" }));
  assert.match(await twiml.text(), /<Stream url="wss:\/\/localhost:5050\/media-stream"\/>/);
});

Deno.test("SOFTPHONE=on serves the page's icon at /favicon.ico (no 404 in the browser's console)", async () => {
  const a = app({ SOFTPHONE: "on" });
  const res = await a.handler(request("/favicon.ico"));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/svg+xml");
  assert.match(await res.text(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const page = await (await a.handler(request("/"))).text();
  assert.match(page, /<link rel="icon" href="\/favicon\.ico" type="image\/svg\+xml">/);
  // Without the softphone there is no page and no icon.
  assert.equal((await app().handler(request("/favicon.ico"))).status, 404);
});

Deno.test("POST /softphone/token issues a valid one-call token to the page, never to another site", async () => {
  const tokens = new SoftphoneTokens();
  const a = app({ SOFTPHONE: "on" }, tokens);
  const res = await a.handler(request("/softphone/token", {
    method: "POST",
    headers: { origin: "http://localhost:5050" },
  }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const issued = await res.json();
  assert.match(issued.token, /^sp1\.SP[0-9a-f]{32}\.\d{13}\.[A-Za-z0-9_-]{43}$/);
  assert.match(issued.streamSid, /^MZ[0-9a-f]{32}$/);
  assert.deepEqual(tokens.verify(issued.token), { ok: true, callSid: issued.callSid });
  const foreign = await a.handler(request("/softphone/token", {
    method: "POST",
    headers: { origin: "https://evil.example" },
  }));
  assert.equal(foreign.status, 403);
  assert.doesNotMatch(await foreign.text(), /sp1\./);
});

Deno.test("softphone tokens: forged, tampered, expired and reused tokens are refused", () => {
  let now = 1_800_000_000_000;
  const tokens = new SoftphoneTokens({ now: () => now });
  const other = new SoftphoneTokens({ now: () => now });
  const { token } = tokens.issue();
  assert.deepEqual(other.verify(token), { ok: false, reason: "bad_signature" });
  const [prefix, sid, expires, sig] = token.split(".");
  assert.deepEqual(tokens.verify(`${prefix}.${sid}.${Number(expires) + 1000}.${sig}`), {
    ok: false,
    reason: "bad_signature",
  });
  assert.deepEqual(tokens.verify("sp1.nonsense"), { ok: false, reason: "malformed" });
  assert.deepEqual(tokens.verify(""), { ok: false, reason: "malformed" });
  now += SOFTPHONE_TOKEN_TTL_MS + 1;
  assert.deepEqual(tokens.verify(token), { ok: false, reason: "expired" });
  const fresh = tokens.issue();
  assert.equal(tokens.verify(fresh.token).ok, true);
  assert.deepEqual(tokens.verify(fresh.token), { ok: false, reason: "used" });
  assert.throws(() => new SoftphoneTokens({ secret: new Uint8Array(8) }), /at least 32 bytes/);
});

Deno.test("the media stream accepts a softphone token as a softphone call and refuses a bad one", async () => {
  const lines: string[] = [];
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [KEY],
    sink: (l) => lines.push(l),
  });
  const realtime = await FakeRealtimeServer.start();
  const tokens = new SoftphoneTokens();
  const finished: { softphone?: boolean; callSid: string | undefined }[] = [];
  const server = startServer({
    config: parseConfig({
      OPENAI_API_KEY: KEY,
      OPENAI_REALTIME_URL: realtime.url,
      GREETING: "off",
      SOFTPHONE: "on",
      LOG_LEVEL: "error",
    }),
    softphoneTokens: tokens,
    port: 0,
    hostname: "127.0.0.1",
    onCallFinished: (summary) => finished.push(summary),
  });
  const url = `${server.localUrl.replace("http", "ws")}/media-stream`;
  try {
    const issued = tokens.issue();
    const forged = `${issued.token.slice(0, -4)}AAAA`;
    await assert.rejects(
      FakeTwilioCall.connect({ url, protocols: ["softphone", `softphone-token.${forged}`] }),
      /did not open/,
    );
    const call = await FakeTwilioCall.connect({
      url,
      ...softphoneCall(issued),
    });
    const session = await realtime.nextSession();
    await session.waitFor("session.update");
    await call.hangUp();
    const start = performance.now();
    while (finished.length === 0 && performance.now() - start < 3000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(
      finished.map((f) => ({ softphone: f.softphone, callSid: f.callSid })),
      [{ softphone: true, callSid: issued.callSid }],
    );
    // The same token cannot open a second call.
    await assert.rejects(
      FakeTwilioCall.connect({ url, protocols: ["softphone", `softphone-token.${issued.token}`] }),
      /did not open/,
    );
  } finally {
    await server.shutdown();
    await realtime.close();
    await disposeLogging();
  }
  const callLines = lines.map((l) => JSON.parse(l)).filter((l) => l.callSid !== undefined);
  assert.ok(callLines.length >= 2, "the call logged something");
  assert.ok(callLines.every((l) => l.softphone === true), "every call line says softphone: true");
  assert.ok(
    lines.some((l) => /Refused a softphone media stream: the token is bad_signature/.test(l)),
    "the refusal is logged",
  );
  assert.equal(lines.some((l) => l.includes("sp1.")), false, "tokens never reach the logs");
});
