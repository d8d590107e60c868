/**
 * One handle of the call store's file per process: the call store, the
 * webhook outbox, outbound calls and campaigns, checkpoints and shared call
 * state all use the handle `main.ts` opens, and it is closed once at exit.
 * Several SQLite handles on one file in one process wait for each other's
 * writes ("database is locked" stalls).
 */
import assert from "node:assert/strict";
import { TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";

const ACCOUNT = "AC" + "8".repeat(32);
const API_TOKEN = "store-kv-control-token-0123456789abcdef";

Deno.test("a server with outbound calls, records and checkpoints opens the call store's file once, and closes it cleanly", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const realtime = await FakeRealtimeServer.start();
  const dir = await Deno.makeTempDir();
  const storePath = `${dir}/calls.kv`;
  const server = await ServerProcess.spawn({
    args: denoRunArgs("tests/support/kv_counting_main.ts", [
      "net",
      "env",
      "read",
      "write",
      "sys=hostname",
    ]),
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_REALTIME_URL: realtime.url,
      PORT: "0",
      HOST: "127.0.0.1",
      AGENTS_FILE: "off",
      API_TOKEN,
      PUBLIC_URL: "https://voice.example.com",
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
      TWILIO_PHONE_NUMBER: "+15005550006",
      TWILIO_API_BASE_URL: rest.baseUrl,
      STREAM_TOKEN_SECRET: "store-kv-stream-token-secret-0123456789",
      CALL_STORE_PATH: storePath,
      LOG_FORMAT: "json",
    },
  });
  try {
    const base = `http://127.0.0.1:${await server.port()}`;
    // An outbound call writes its attempt in the call store's KV.
    const response = await fetch(`${base}/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ to: "+15551234567" }),
    });
    assert.equal(response.status, 201, await response.text());
    server.child.kill("SIGTERM");
    const status = await server.child.status;
    assert.equal(status.code, 0, server.output);
    const opens = server.err.filter((line) => line.startsWith("kv-open "));
    assert.deepEqual(opens, [`kv-open ${storePath}`], server.output);
    assert.doesNotMatch(server.output, /database is locked|BadResource/, server.output);
  } finally {
    await server[Symbol.asyncDispose]();
    await realtime.close();
    await Deno.remove(dir, { recursive: true });
  }
});
