import assert from "node:assert/strict";
import { drainApp } from "../src/http/drain.ts";
import { BridgeHarness, TEST_API_KEY } from "./support/bridge_harness.ts";
import {
  audioBytes,
  FakeRealtimeServer,
  type FakeRealtimeSession,
} from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { denoRunArgs, ROOT, ServerProcess } from "./support/server_process.ts";

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

/** The environment of a server process that talks to the fake Realtime server at `url`. */
function serverEnv(url: string): Record<string, string> {
  return {
    OPENAI_API_KEY: TEST_API_KEY,
    OPENAI_REALTIME_URL: url,
    PORT: "0",
    HOST: "127.0.0.1",
    GREETING: "off",
    DRAIN_SECONDS: "1",
    TWILIO_SIGNATURE_CHECK: "off",
    CALL_STORE_PATH: "off",
    END_CALL_GRACE_SECONDS: "0.2",
    LOG_FORMAT: "json",
  };
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

Deno.test("SIGTERM to a real server process: readyz fails, the call gets its goodbye, exit 0", async () => {
  const realtime = await FakeRealtimeServer.start();
  const server = await ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "sys=hostname"]),
    env: serverEnv(realtime.url),
  });
  const child = server.child;
  const out = server.out;
  let call: FakeTwilioCall | undefined;
  try {
    const port = await server.port();
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
    assert.equal(status.code, 0, server.output);
    assert.ok(elapsed < 10_000, `exited ${Math.round(elapsed)} ms after SIGTERM`);
    await session.closed;
  } finally {
    await call?.close();
    await server[Symbol.asyncDispose]();
    await realtime.close();
  }
  assert.ok(out.some((l) => l.includes("draining")), "the drain is logged");
  assert.equal(server.output.includes(TEST_API_KEY), false);
});

/** A directory from which `deno task start` runs this checkout, without its `.env`. */
async function taskDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const name of ["deno.json", "deno.lock", "main.ts", "src"]) {
    await Deno.symlink(`${ROOT}${name}`, `${dir}/${name}`);
  }
  return dir;
}

/** The process group of `pid`, from `ps`. */
async function processGroup(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "pgid=", "-p", String(pid)] })
    .output();
  return Number(new TextDecoder().decode(stdout).trim());
}

Deno.test({
  name:
    "SIGTERM to the process group of `deno task start` (systemd, Ctrl-C): the calls are drained, not dropped",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const realtime = await FakeRealtimeServer.start();
    const cwd = await taskDir();
    // setsid: its own process group, like a systemd unit's control group or a terminal's job.
    const server = await ServerProcess.spawn({
      command: "setsid",
      args: [Deno.execPath(), "task", "start"],
      env: { ...serverEnv(realtime.url), NO_COLOR: "1" },
      cwd,
      processGroup: true,
    });
    const calls: FakeTwilioCall[] = [];
    try {
      const port = await server.port();
      const pgid = await processGroup(server.child.pid);
      assert.equal(pgid, server.child.pid, "deno task leads its own process group");
      const sessions: FakeRealtimeSession[] = [];
      for (let i = 0; i < 3; i++) {
        calls.push(await FakeTwilioCall.connect({ url: `ws://127.0.0.1:${port}/media-stream` }));
        const session = await realtime.nextSession(5000);
        await session.waitFor("session.update");
        sessions.push(session);
      }

      const t0 = performance.now();
      Deno.kill(-pgid, "SIGTERM"); // kill -TERM -- -PGID: deno task and the server both get it
      await new Promise((r) => setTimeout(r, 300));
      for (const call of calls) {
        assert.equal(call.isOpen, true, `a call was dropped: ${server.output}`);
      }

      await Promise.all(sessions.map((session, i) => sayGoodbye(session, 0x40 + i)));
      for (const [i, call] of calls.entries()) {
        const closed = await call.closed;
        assert.equal(closed.code, 1000);
        assert.equal(call.playedBytes(0x40 + i), 2400, `call ${i} heard the whole goodbye`);
      }
      const status = await server.child.status;
      assert.equal(status.code, 0, server.output);
      assert.ok(performance.now() - t0 < 10_000);
    } finally {
      for (const call of calls) await call.close();
      await server[Symbol.asyncDispose]();
      await realtime.close();
      await Deno.remove(cwd, { recursive: true });
    }
    assert.equal(server.out.filter((l) => l.includes("draining, then shutting down")).length, 1);
    assert.doesNotMatch(server.output, /exiting now/);
  },
});
