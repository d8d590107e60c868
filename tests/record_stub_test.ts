/**
 * A call's record is written when its stream starts (a stub, outcome
 * `in_progress`) and replaced at its end: a process killed mid-call leaves
 * the call in the store, with who, when and which agent.
 */
import assert from "node:assert/strict";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { IN_PROGRESS_OUTCOME } from "../src/calls/call_record.ts";

async function spawn(cwd: string, realtimeUrl: string): Promise<ServerProcess> {
  return await ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "write", "sys=hostname"]),
    cwd,
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_REALTIME_URL: realtimeUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      TWILIO_SIGNATURE_CHECK: "off",
      CALL_STORE_PATH: `${cwd}/calls.kv`,
      GREETING: "off",
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
    },
  });
}

/** Answers the webhook like Twilio, then opens the stream it names. */
async function call(port: number, callSid: string): Promise<FakeTwilioCall> {
  const webhook = await fetch(`http://127.0.0.1:${port}/incoming-call`, {
    method: "POST",
    body: new URLSearchParams({ CallSid: callSid, From: "+14155550123", To: "+15005550006" }),
  });
  const twiml = await webhook.text();
  const parameters: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) {
    parameters[m[1]] = m[2];
  }
  const path = new URL(/<Stream url="([^"]*)"/.exec(twiml)![1]).pathname;
  return await FakeTwilioCall.connect({
    url: `ws://127.0.0.1:${port}${path}`,
    callSid,
    customParameters: parameters,
  });
}

Deno.test("a server killed mid-call leaves the call's record (in_progress); a call that ends replaces its stub", async () => {
  const realtime = await FakeRealtimeServer.start();
  const cwd = await Deno.makeTempDir();
  try {
    {
      await using server = await spawn(cwd, realtime.url);
      const port = await server.port();
      const twilio = await call(port, "CA" + "1".repeat(32));
      const session = await realtime.nextSession(10_000);
      await session.waitFor("session.update");
      // The stub is written at start (the store logs each write at debug level).
      const waitFrom = performance.now();
      while (!server.out.some((l) => l.includes("Call record stub stored."))) {
        assert.ok(performance.now() - waitFrom < 10_000, `no stub record: ${server.output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(twilio.isOpen, true, "the call is still going on");
      // Killed mid-call: no shutdown, no end of the call.
      server.child.kill("SIGKILL");
      await server.child.status;
      await twilio.closed;
    }
    const store = await KvCallStore.open({ path: `${cwd}/calls.kv`, retentionDays: 30 });
    try {
      const record = await store.get("CA" + "1".repeat(32));
      assert.ok(record !== undefined, "the call is in the store although its process died");
      assert.equal(record.outcome, IN_PROGRESS_OUTCOME);
      assert.match(record.reason, /no end was recorded/);
      assert.equal(record.caller, "+14•••••••23", "the caller, masked");
      assert.equal(record.agent, "default");
      const listed = await store.list();
      assert.deepEqual(listed.map((r) => [r.callSid, r.outcome]), [[
        record.callSid,
        "in_progress",
      ]]);
    } finally {
      store.close();
    }

    // The next process: a call that ends has its stub replaced by its record.
    await using server = await spawn(cwd, realtime.url);
    const port = await server.port();
    const twilio = await call(port, "CA" + "2".repeat(32));
    const session = await realtime.nextSession(10_000);
    await session.waitFor("session.update");
    await twilio.hangUp();
    const sid = "CA" + "2".repeat(32);
    const read = async () => {
      const s = await KvCallStore.open({ path: `${cwd}/calls.kv`, retentionDays: 30 });
      try {
        return await s.list();
      } finally {
        s.close();
      }
    };
    let records = await read();
    const start = performance.now();
    while (
      records.find((r) => r.callSid === sid)?.outcome !== "caller_hung_up" &&
      performance.now() - start < 10_000
    ) {
      await new Promise((r) => setTimeout(r, 100));
      records = await read();
    }
    assert.deepEqual(
      records.filter((r) => r.callSid === sid).map((r) => r.outcome),
      ["caller_hung_up"],
      "one record, the final one",
    );
  } finally {
    await realtime.close();
    await Deno.remove(cwd, { recursive: true });
  }
});
