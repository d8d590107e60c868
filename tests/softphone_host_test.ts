import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { startServer } from "../src/http/server.ts";
import { SoftphoneTokens } from "../src/softphone/softphone_token.ts";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall, softphoneCall } from "./support/fake_twilio.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";

function app(env: Record<string, string>, tokens = new SoftphoneTokens()) {
  const refused: string[] = [];
  const a = createApp({
    config: parseConfig({ OPENAI_API_KEY: KEY, TWILIO_SIGNATURE_CHECK: "off", ...env }),
    softphoneTokens: tokens,
    onCallRejected: (reason) => refused.push(reason),
  });
  return { handler: a.handler, refused };
}

/** What a page on attacker.example sends once its name resolves to 127.0.0.1 (DNS rebinding). */
function rebound(path: string, init: RequestInit = {}): Request {
  return new Request(`http://127.0.0.1:5050${path}`, {
    ...init,
    headers: { host: "attacker.example", origin: "http://attacker.example", ...init.headers },
  });
}

Deno.test("DNS rebinding: a page on attacker.example gets no softphone token, page, agents or live view", async () => {
  const { handler, refused } = app({ SOFTPHONE: "on" });
  const token = await handler(rebound("/softphone/token", { method: "POST" }));
  assert.equal(token.status, 403);
  const body = await token.text();
  assert.doesNotMatch(body, /sp1\./, "no token");
  assert.match(body, /only answers requests addressed to localhost/);
  assert.match(body, /"attacker\.example"/);
  assert.match(body, /PUBLIC_URL/);
  for (const path of ["/", "/softphone/agents", "/softphone/softphone.js", "/softphone/events"]) {
    const res = await handler(rebound(path));
    assert.equal(res.status, 403, path);
    await res.body?.cancel();
  }
  assert.deepEqual([...new Set(refused)], ["foreign_host"], "each refusal is counted");
  // Twilio's routes are not the softphone's: they keep their own check (the signature).
  const twiml = await handler(rebound("/incoming-call", { method: "POST", body: "CallSid=CA1" }));
  assert.equal(twiml.status, 200);
  await twiml.body?.cancel();
});

Deno.test("the softphone answers loopback names and PUBLIC_URL's host, nothing else", async () => {
  const { handler } = app({ SOFTPHONE: "on", PUBLIC_URL: "https://voice.example.com" });
  const hosts: Record<string, number> = {
    "localhost:5050": 200,
    "127.0.0.1:5050": 200,
    "[::1]:5050": 200,
    "voice.example.com": 200,
    "voice.example.com.attacker.example": 403,
    "192.168.1.20:5050": 403,
    "attacker.example": 403,
  };
  for (const [host, status] of Object.entries(hosts)) {
    const res = await handler(
      new Request("http://127.0.0.1:5050/softphone/token", {
        method: "POST",
        headers: { host, origin: `http://${host}` },
      }),
    );
    assert.equal(res.status, status, host);
    await res.body?.cancel();
  }
});

Deno.test("a rebound page's softphone media stream is refused even with a valid token", async () => {
  const tokens = new SoftphoneTokens();
  const { handler, refused } = app({ SOFTPHONE: "on" }, tokens);
  const issued = tokens.issue();
  const res = await handler(rebound("/media-stream", {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": softphoneCall(issued).protocols!.join(", "),
    },
  }));
  assert.equal(res.status, 403);
  assert.match(await res.text(), /softphone only answers localhost/);
  assert.deepEqual(refused, ["foreign_host"]);
  assert.deepEqual(
    tokens.verify(issued.token),
    { ok: true, callSid: issued.callSid },
    "not used up",
  );
});

Deno.test("a softphone start naming another CallSid (a real call's) is refused: the call is the token's", async () => {
  const realtime = await FakeRealtimeServer.start();
  const tokens = new SoftphoneTokens();
  const finished: { callSid: string | undefined; outcome: string }[] = [];
  const server = startServer({
    config: parseConfig({
      OPENAI_API_KEY: KEY,
      OPENAI_REALTIME_URL: realtime.url,
      SOFTPHONE: "on",
      LOG_LEVEL: "error",
    }),
    softphoneTokens: tokens,
    port: 0,
    hostname: "127.0.0.1",
    onCallFinished: (summary) => finished.push(summary),
  });
  try {
    const call = await FakeTwilioCall.connect({
      url: `${server.localUrl.replace("http", "ws")}/media-stream`,
      ...softphoneCall(tokens.issue()),
      callSid: "CA0123456789abcdef0123456789abcdef",
      customParameters: { caller: "+15551234567" },
    });
    const closed = await call.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /softphone call mismatch/);
    assert.equal(finished.some((f) => f.callSid === "CA0123456789abcdef0123456789abcdef"), false);
  } finally {
    await server.shutdown();
    await realtime.close();
  }
});

Deno.test("deno task dev listens on 127.0.0.1 unless HOST is set", async () => {
  for (const [env, expected] of [[{}, "127.0.0.1"], [{ HOST: "0.0.0.0" }, "0.0.0.0"]] as const) {
    await using child = await ServerProcess.spawn({
      args: denoRunArgs("dev.ts", ["net", "env", "read", "write", "sys=hostname"]),
      env: {
        OPENAI_API_KEY: TEST_API_KEY,
        PORT: "0",
        LOG_FORMAT: "json",
        CALL_STORE_PATH: "off",
        NO_COLOR: "1",
        ...env,
      },
    });
    await child.port();
    const line = JSON.parse(child.out.find((l) => l.includes("Listening on"))!);
    assert.equal(line.hostname, expected, JSON.stringify(env));
  }
});
