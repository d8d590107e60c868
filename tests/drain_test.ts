import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { drainApp } from "../src/http/drain.ts";
import { BridgeHarness, TEST_API_KEY } from "./support/bridge_harness.ts";
import {
  audioBytes,
  FakeRealtimeServer,
  type FakeRealtimeSession,
} from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** Scripts the goodbye the bridge asks for on `session`; returns its instructions. */
async function sayGoodbye(session: FakeRealtimeSession, value: number): Promise<string> {
  const request = await session.waitFor(
    "response.create",
    (e) => /goodbye/i.test(e.response?.instructions ?? ""),
    10_000,
  );
  const r = session.beginResponse();
  r.audio(audioBytes(value, 300));
  r.transcript("Sorry, we have to end the call now. Please call back. Goodbye!");
  r.finish();
  return request.response.instructions;
}

Deno.test("health routes: /healthz is always 200, /readyz turns 503 once the app stops accepting calls", async () => {
  await using h = await BridgeHarness.start();
  const get = (path: string) => h.server.app.handler(new Request(`http://x${path}`));
  assert.equal((await get("/healthz")).status, 200);
  assert.equal((await get("/readyz")).status, 200);
  h.server.app.stopAccepting();
  const ready = await get("/readyz");
  assert.equal(ready.status, 503);
  assert.equal((await get("/healthz")).status, 200);
  await ready.body?.cancel();
});

Deno.test("drain: new calls are turned away, the call in progress goes on, then gets a goodbye and is hung up", async () => {
  await using h = await BridgeHarness.start({ END_CALL_GRACE_SECONDS: "0.2" });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const draining = drainApp(h.server.app, { drainMs: 400, farewellMs: 5000 });

  // No new calls: busy TwiML for the webhook, 1013 for a new media stream.
  const webhook = await h.server.app.handler(
    new Request("http://x/incoming-call", { method: "POST", body: "CallSid=CA9", headers: FORM }),
  );
  assert.match(await webhook.text(), /<Reject reason="busy"\/>/);
  const late = await FakeTwilioCall.connect({ url: h.mediaStreamUrl });
  assert.equal((await late.closed).code, 1013);

  // The call in progress still works during the drain time.
  const r = session.beginResponse();
  r.audio(audioBytes(0x35, 100));
  r.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x35) === 800);
  assert.equal(call.isOpen, true);

  const instructions = await sayGoodbye(session, 0x36);
  assert.match(instructions, /goodbye/i);
  const closed = await call.closed;
  assert.equal(closed.code, 1000);
  assert.equal(
    call.playedBytes(0x36),
    2400,
    "the caller heard the whole goodbye before the hang-up",
  );
  const result = await draining;
  assert.deepEqual(result, { activeAtStart: 1, endedOnTheirOwn: 0, saidGoodbye: 1, hungUp: 0 });
  assert.deepEqual(session.schemaErrors, []);
});

/** Reads a child's output stream into `lines`, resolving when it ends. */
async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  }
  if (rest !== "") lines.push(rest);
}

Deno.test("SIGTERM to a real server process: readyz fails, the call gets its goodbye, exit 0", async () => {
  const realtime = await FakeRealtimeServer.start();
  const root = fileURLToPath(new URL("../", import.meta.url));
  const cwd = await Deno.makeTempDir(); // no .env here
  const env: Record<string, string> = {
    OPENAI_API_KEY: TEST_API_KEY,
    OPENAI_REALTIME_URL: realtime.url,
    PORT: "0",
    HOST: "127.0.0.1",
    GREETING: "off",
    DRAIN_SECONDS: "1",
    TWILIO_SIGNATURE_CHECK: "off",
    CALL_STORE_PATH: "off",
    END_CALL_GRACE_SECONDS: "0.2",
    LOG_FORMAT: "json",
  };
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${root}deno.json`,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys=hostname",
      `${root}main.ts`,
    ],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
  let call: FakeTwilioCall | undefined;
  try {
    let port: number | undefined;
    const start = performance.now();
    while (port === undefined) {
      if (performance.now() - start > 30_000) {
        throw new Error(`The server did not start: ${[...out, ...err].join("\n")}`);
      }
      const line = out.find((l) => l.includes("Listening on"));
      if (line !== undefined) port = JSON.parse(line).port;
      await new Promise((r) => setTimeout(r, 50));
    }
    const base = `http://127.0.0.1:${port}`;
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();

    call = await FakeTwilioCall.connect({ url: `ws://127.0.0.1:${port}/media-stream` });
    const session = await realtime.nextSession(5000);
    await session.waitFor("session.update");

    const t0 = performance.now();
    child.kill("SIGTERM");
    let readyStatus = 200;
    while (readyStatus === 200 && performance.now() - t0 < 2000) {
      const res = await fetch(`${base}/readyz`);
      readyStatus = res.status;
      await res.body?.cancel();
    }
    assert.equal(readyStatus, 503, "readyz fails while draining");
    const webhook = await fetch(`${base}/incoming-call`, {
      method: "POST",
      body: "CallSid=CA7",
      headers: FORM,
    });
    assert.match(await webhook.text(), /<Reject reason="busy"\/>/);
    assert.equal(call.isOpen, true, "the call in progress goes on during DRAIN_SECONDS");

    await sayGoodbye(session, 0x37);
    const closed = await call.closed;
    assert.equal(closed.code, 1000);
    assert.equal(call.playedBytes(0x37), 2400, "the goodbye was heard in full");
    const status = await child.status;
    const elapsed = performance.now() - t0;
    assert.equal(status.code, 0, [...out, ...err].join("\n"));
    assert.ok(elapsed < 10_000, `exited ${Math.round(elapsed)} ms after SIGTERM`);
    await session.closed;
  } finally {
    await call?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await reading;
    await realtime.close();
    await Deno.remove(cwd, { recursive: true });
  }
  assert.ok(out.some((l) => l.includes("draining")), "the drain is logged");
  assert.equal([...out, ...err].join("\n").includes(TEST_API_KEY), false);
});
