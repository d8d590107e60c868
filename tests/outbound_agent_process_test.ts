/**
 * One agent for both directions, in a real server process: started with the
 * demo's agents file, `deno task call --agent listings` (the control CLI, a
 * process too) places a call through the fake Twilio REST API, and the call's
 * media stream runs the `listings` agent: its instructions, tools and
 * outbound greeting.
 */
import assert from "node:assert/strict";
import { TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall, twilioSignature } from "./support/fake_twilio.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { denoRunArgs, ROOT, ServerProcess } from "./support/server_process.ts";

const ACCOUNT = "AC" + "7".repeat(32);
const API_TOKEN = "agent-cli-control-token-0123456789abcdef";
const PUBLIC = "https://voice.example.com";
const FROM = "+15005550006";

/** What Twilio sends to a public URL of the server, signed. */
async function twilioPost(base: string, url: string, params: Record<string, string>) {
  const u = new URL(url);
  return await fetch(`${base}${u.pathname}${u.search}`, {
    method: "POST",
    body: new URLSearchParams(params),
    headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, url, params) },
  });
}

Deno.test("deno task call --agent listings on a server with the demo's agents file: the call's stream runs the listings agent", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const realtime = await FakeRealtimeServer.start();
  const server = await ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "sys=hostname"]),
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_REALTIME_URL: realtime.url,
      PORT: "0",
      HOST: "127.0.0.1",
      AGENTS_FILE: `${ROOT}src/demo/demo_agents.yaml`,
      DEMO_HOST: "127.0.0.1",
      DEMO_PORT: "9",
      API_TOKEN,
      PUBLIC_URL: PUBLIC,
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
      TWILIO_PHONE_NUMBER: FROM,
      TWILIO_API_BASE_URL: rest.baseUrl,
      STREAM_TOKEN_SECRET: "agent-cli-stream-token-secret-0123456789",
      CALL_STORE_PATH: "off",
      LOG_FORMAT: "json",
    },
  });
  let call: FakeTwilioCall | undefined;
  try {
    const base = `http://127.0.0.1:${await server.port()}`;
    // The CLI, as `deno task call` runs it.
    const cli = await ServerProcess.spawn({
      args: denoRunArgs("src/cli/control_client.ts", ["net", "env", "read"], [
        "call",
        "+15551234567",
        "--agent",
        "listings",
        "--server",
        base,
      ]),
      env: { API_TOKEN },
    });
    const status = await cli.child.status;
    await cli[Symbol.asyncDispose]();
    assert.equal(status.code, 0, cli.output);
    const create = rest.creates.at(-1)!;
    assert.equal(create.params.To, "+15551234567");
    assert.equal(create.params.From, FROM);
    const callSid = /CA[0-9a-f]{32}/.exec(cli.output)?.[0];
    assert.ok(callSid !== undefined, cli.output);

    // Twilio fetches the TwiML: the stream's path names the agent.
    const twiml = await (await twilioPost(base, create.params.Url, {
      CallSid: callSid,
      AccountSid: ACCOUNT,
      CallStatus: "in-progress",
      Direction: "outbound-api",
    })).text();
    const streamUrl = /<Stream url="([^"]+)"/.exec(twiml)?.[1];
    assert.equal(streamUrl, `${PUBLIC.replace("https", "wss")}/media-stream/outbound/listings`);
    const parameters = Object.fromEntries(
      [...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]),
    );
    call = await FakeTwilioCall.connect({
      url: `${base.replace("http", "ws")}${new URL(streamUrl!).pathname}`,
      callSid,
      customParameters: parameters,
      headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, streamUrl!) },
    });
    // The Realtime session is the listings agent's, as on an inbound call to its number.
    const session = await realtime.nextSession();
    const update = await session.waitFor("session.update");
    assert.match(update.session.instructions, /You help callers with listings/);
    assert.ok(
      update.session.tools.some((tool: { name: string }) => tool.name === "lookup_listing"),
      "the agent's HTTP tool is declared",
    );
    // A person answers: the agent opens with its outbound greeting.
    await twilioPost(base, create.params.AsyncAmdStatusCallback, {
      CallSid: callSid,
      AnsweredBy: "human",
    });
    const greeting = await session.waitFor("response.create");
    assert.match(greeting.response.instructions, /calling about the listing you asked about/);
  } finally {
    await call?.close();
    await server[Symbol.asyncDispose]();
    await realtime.close();
  }
});
