/**
 * Recording with consent over real sockets: Twilio says the agent's consent
 * line before the stream connects, the recording starts through the REST API
 * only once the stream starts (after that line), a sensitive tool pauses it
 * (skip) while it runs and resumes it after, and Twilio's signed recording
 * callback puts its SID and URL in the call record and the
 * `recording.completed` webhook event.
 */
import assert from "node:assert/strict";
import { loadAgents } from "../src/agents/agent_book.ts";
import { parseConfig } from "../src/config/mod.ts";
import type { CallRecord } from "../src/calls/call_record.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { formatCallDetail } from "../src/cli/calls.ts";
import { Operations } from "../src/observability/operations.ts";
import type { WebhookEvent } from "../src/webhooks/mod.ts";
import { BridgeHarness, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { twilioSignature } from "./support/fake_twilio.ts";
import { connectTwimlStream } from "./support/twilio_requests.ts";
import { sampleRecord } from "./support/sample_record.ts";
import { waitUntil } from "./support/wait.ts";

const ACCOUNT = "AC" + "7".repeat(32);
const CONSENT = "This call is recorded for quality.";

function agentsYaml(backend: string): string {
  return `
agents:
  - name: desk
    instructions: "You take payments."
    recording: { consent: "${CONSENT}", channels: dual }
    tools:
      - type: http
        name: take_payment
        description: Take the caller's card payment.
        parameters: { type: object, properties: { amount: { type: number } }, required: [amount] }
        request: { method: POST, url: "${backend}/pay" }
        sensitive: true
      - type: http
        name: opening_hours
        description: Opening hours.
        parameters: { type: object, properties: {} }
        request: { url: "${backend}/hours" }
`;
}

/** The configuration (Twilio's REST API is the fake `rest`) and the agents of `agentsFile`. */
function setUp(rest: FakeTwilioRest, agentsFile: string) {
  const env = { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_BASE_URL: rest.baseUrl };
  const config = parseConfig({
    OPENAI_API_KEY: TEST_API_KEY,
    TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
    ...env,
  });
  const loaded = loadAgents({
    config,
    file: { path: "agents.yaml", required: true },
    env: {},
    readTextFile: () => agentsFile,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  return { env, config, book: loaded.book };
}

/** Twilio opens the stream of the TwiML `twiml` (signed for its wss:// URL; the fake reaches the same path over ws://). */
async function openStream(h: BridgeHarness, callSid: string, twiml: string) {
  const call = await connectTwimlStream(h.server.localUrl, callSid, twiml);
  h.calls.push(call);
  return call;
}

Deno.test("recording: the consent line first, the recording after it, paused (skip) around a sensitive tool, its SID and URL in the record and recording.completed", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  // The backend notes the recording's status at the moment each tool runs.
  const during: Record<string, string | undefined> = {};
  const backend = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      await req.body?.cancel();
      during[path] = [...rest.recordings.values()].at(-1)?.status;
      await new Promise((r) => setTimeout(r, 50));
      return Response.json({ ok: true });
    },
  );
  const { env, config, book } = setUp(rest, agentsYaml(`http://127.0.0.1:${backend.addr.port}`));
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 1 });
  const ops = await Operations.create({ config, store });
  const events: WebhookEvent[] = [];
  const emit = ops.webhooks.emit.bind(ops.webhooks);
  ops.webhooks.emit = (event) => {
    events.push(event);
    return emit(event);
  };
  try {
    await using h = await BridgeHarness.startSecure(env, {
      app: { ...ops.appOptions(), agents: { book } },
    });
    rest.callbacksTo(h.server.localUrl);

    // The TwiML: <Say> the consent line, then <Connect><Stream>; no recording yet.
    const answer = await h.webhook({
      CallSid: "CA" + "1".repeat(32),
      From: "+14155550100",
      To: "+14155550199",
    });
    assert.match(
      answer.body,
      new RegExp(`^<\\?xml[^>]*\\?><Response><Say>${CONSENT}</Say><Connect [^>]*><Stream `),
    );
    assert.equal(rest.recordings.size, 0, "nothing is recorded while Twilio says the consent line");

    const callSid = "CA" + "2".repeat(32);
    rest.addCall(callSid);
    const streamed = await h.webhook({
      CallSid: callSid,
      From: "+14155550100",
      To: "+14155550199",
    });
    assert.ok(streamed.streamUrl, streamed.body);
    const call = await openStream(h, callSid, streamed.body);
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    // The stream started (so Twilio finished the consent line): the recording starts.
    const start = performance.now();
    while (rest.recordings.size === 0 && performance.now() - start < 5000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const [recording] = rest.recordings.values();
    assert.equal(recording.callSid, callSid);
    assert.equal(recording.params.RecordingChannels, "dual");
    assert.equal(
      recording.params.RecordingStatusCallback,
      `${h.server.localUrl}/recording-status?agent=desk`,
    );
    assert.equal(recording.params.RecordingStatusCallbackEvent, "completed");

    // A sensitive tool: paused (skip) while it runs, resumed after.
    const r1 = session.beginResponse({ message: false });
    const paid = r1.functionCall("take_payment", { amount: 120 });
    r1.finish();
    await session.waitFor("conversation.item.create", (e) => e.item.call_id === paid.callId);
    // A tool that is not sensitive runs with the recording on.
    const r2 = session.beginResponse({ message: false });
    const hours = r2.functionCall("opening_hours", {});
    r2.finish();
    await session.waitFor("conversation.item.create", (e) => e.item.call_id === hours.callId);
    assert.deepEqual(during, { "/pay": "paused", "/hours": "in-progress" });
    const statuses = recording.history.map((h) => [h.status, h.pauseBehavior]);
    assert.deepEqual(statuses, [
      ["in-progress", undefined],
      ["paused", "skip"],
      ["in-progress", undefined],
    ]);

    const goodbye = session.beginResponse();
    goodbye.audio(audioBytes(0x21, 60));
    goodbye.finish();
    await call.waitFor(() => call.receivedAudioBytes(0x21) === 480);
    await call.hangUp();
    await h.waitForFinished(1);
    await ops.recorder.idle();
    // Twilio finishes the recording with the call and posts its signed status callback.
    assert.equal(await rest.finishRecording(callSid), 204);
    const until = performance.now();
    let record: CallRecord | undefined;
    while (performance.now() - until < 5000) {
      record = await store.get(callSid);
      if (record?.recording !== undefined) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(record?.recording?.sid, recording.sid);
    assert.equal(
      record?.recording?.url,
      `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Recordings/${recording.sid}`,
    );
    assert.equal(record?.recording?.channels, 2);
    assert.equal(record?.recording?.status, "completed");
    assert.match(formatCallDetail(record!), new RegExp(`recording ${recording.sid} completed`));
    const completed = events.find((e) => e.type === "recording.completed");
    assert.deepEqual(completed?.data, { callSid, agent: "desk", recording: record?.recording });
    assert.equal(completed?.agent, "desk");
  } finally {
    await ops.close();
    await backend.shutdown();
  }
});

Deno.test("a recording status callback without Twilio's signature is refused, counted and logged by the app's one refusal log like every Twilio webhook", async () => {
  const refused: string[] = [];
  await using h = await BridgeHarness.startSecure({
    TWILIO_ACCOUNT_SID: ACCOUNT,
  }, { app: { onCallRejected: (kind) => refused.push(kind) } });
  const url = `${h.server.localUrl}/recording-status?agent=desk`;
  const params = { CallSid: "CA" + "3".repeat(32), RecordingSid: "RE1" };
  const unsigned = await fetch(url, { method: "POST", body: new URLSearchParams(params) });
  assert.equal(unsigned.status, 403);
  assert.match(await unsigned.text(), /only accepts requests signed by Twilio/);
  const wrong = await fetch(url, {
    method: "POST",
    body: new URLSearchParams(params),
    headers: { "x-twilio-signature": await twilioSignature("wrong-token", url, params) },
  });
  assert.equal(wrong.status, 403);
  await wrong.body?.cancel();
  const huge = await fetch(url, { method: "POST", body: "x=" + "a".repeat(70 * 1024) });
  assert.equal(huge.status, 413);
  await huge.body?.cancel();
  assert.deepEqual(refused, ["missing_signature", "invalid_signature", "too_large"]);
});

Deno.test("the recording is kept whether Twilio reports it before or after the call record is written", async () => {
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 1 });
  try {
    const info = {
      sid: "RE" + "a".repeat(32),
      url: "https://api.twilio.com/x",
      status: "completed",
      durationSeconds: 12,
      channels: 2,
      startTime: null,
      errorCode: null,
    };
    await store.putRecording("CA_before", info);
    await store.put(sampleRecord("CA_before"));
    await store.put(sampleRecord("CA_after"));
    await store.putRecording("CA_after", info);
    assert.deepEqual((await store.get("CA_before"))?.recording, info);
    assert.deepEqual((await store.get("CA_after"))?.recording, info);
    const listed = await store.list();
    assert.ok(listed.every((r) => r.recording?.sid === info.sid), "the listing has it too");
  } finally {
    store.close();
  }
});

Deno.test("a keypad collection marked sensitive pauses the recording (skip) from the first key until the digits went to the model, then resumes it", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { env, config, book } = setUp(
    rest,
    `
agents:
  - name: desk
    instructions: "You take card numbers."
    recording: { consent: "${CONSENT}" }
    dtmf: { collect_until: "#", sensitive: true }
`,
  );
  const ops = await Operations.create({ config, store: null });
  try {
    await using h = await BridgeHarness.startSecure(env, {
      app: { ...ops.appOptions(), agents: { book } },
    });
    const callSid = "CA" + "5".repeat(32);
    rest.addCall(callSid);
    const streamed = await h.webhook({
      CallSid: callSid,
      From: "+14155550100",
      To: "+14155550199",
    });
    const call = await openStream(h, callSid, streamed.body);
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    await waitUntil(() => rest.recordings.size === 1, 5000, "the recording started");
    const [recording] = rest.recordings.values();
    const statuses = () => recording.history.map((step) => [step.status, step.pauseBehavior]);
    call.sendDtmf("4");
    await waitUntil(() => recording.history.length === 2, 2000, "the pause at the first key");
    assert.deepEqual(statuses().at(-1), ["paused", "skip"]);
    for (const digit of "242") call.sendDtmf(digit);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(recording.history.length, 2, "one pause for the whole burst, no resume yet");
    call.sendDtmf("#");
    const item = await session.waitFor(
      "conversation.item.create",
      (e) => e.item.type === "message" && e.item.role === "user",
    );
    assert.match(
      JSON.stringify(item.item.content),
      /The caller pressed 4 2 4 2 on the phone keypad/,
    );
    await waitUntil(() => recording.history.length === 3, 2000, "the resume");
    assert.deepEqual(statuses(), [
      ["in-progress", undefined],
      ["paused", "skip"],
      ["in-progress", undefined],
    ]);
    await call.hangUp();
    await h.waitForFinished(1);
  } finally {
    await ops.close();
  }
});
