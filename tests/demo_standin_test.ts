import assert from "node:assert/strict";
import type { CallSummary } from "../src/bridge/call_summary.ts";
import { DEMO_NOTICE, startDemo } from "../src/demo/demo.ts";
import {
  type StandinEvent,
  standinNote,
  StandinRealtime,
  textToSay,
} from "../src/demo/standin_realtime.ts";
import { DEFAULT_CALL_PROMPTS, toolFillerSaying } from "../src/prompts/mod.ts";
import { FakeTwilioCall, softphoneCall } from "./support/fake_twilio.ts";
import { validateServerEvent } from "./support/realtime_schema.ts";
import { waitUntil } from "./support/wait.ts";

const LOUD = 0x20; // μ-law byte of about -4000 (RMS 0.12): speech for the stand-in's VAD
const SILENT = 0xff; // μ-law zero

function schemaProblems(events: StandinEvent[]): string[] {
  return events.flatMap((event) =>
    validateServerEvent(event, { strict: true }).map((e) => `${event.type}: ${e}`)
  );
}

Deno.test("offline demo: a softphone call is greeted, echoed, interrupted, then ended by end_call after silence", async () => {
  const events: StandinEvent[] = [];
  const finished: CallSummary[] = [];
  const restHangUps: string[] = [];
  await using demo = startDemo({
    env: {
      END_CALL_GRACE_SECONDS: "0.2",
      LOG_LEVEL: "error",
      // Twilio credentials are set, yet a softphone call must never hang up through Twilio REST.
      TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
      TWILIO_AUTH_TOKEN: "twilio-token-for-the-demo-test",
    },
    standin: { silenceTimeoutMs: 1500, onEvent: (e) => events.push(e) },
    server: {
      port: 0,
      hostname: "127.0.0.1",
      hangUp: (sid) => {
        restHangUps.push(sid);
        return Promise.resolve();
      },
      onCallFinished: (summary) => finished.push(summary),
    },
  });
  const base = demo.server.localUrl;
  const issued = await (await fetch(`${base}/softphone/token`, { method: "POST" })).json();
  const call = await FakeTwilioCall.connect({
    url: `${base.replace("http", "ws")}/media-stream`,
    ...softphoneCall(issued),
  });
  try {
    // The greeting (the default one, in the stand-in's voice) arrives and plays to its end.
    await call.waitFor((m) => m.event === "media", 3000);
    await waitUntil(
      () => events.some((e) => e.type === "response.done"),
      3000,
      "the whole greeting is sent",
    );
    const greetingBytes = events.filter((e) => e.type === "response.output_audio.delta")
      .reduce((n, e) => n + atob(String(e.delta)).length, 0);
    await waitUntil(
      () => call.receivedAudioBytes() >= greetingBytes,
      3000,
      "the whole greeting reaches the caller",
    );
    await call.speak(Math.max(0, greetingBytes / 8 - call.playedMs()) + 200, SILENT);
    // The caller says something, then pauses: the stand-in answers with their words.
    await call.speak(600, LOUD);
    await call.speak(700, SILENT);
    await waitUntil(
      () => call.receivedAudioBytes(LOUD) >= 600 * 8 * 0.9,
      3000,
      "the echo of the caller's words arrives",
    );
    assert.equal(demo.standin.stats.turns, 1);
    // The echo (a beep, then the caller's words) starts playing; the caller talks over it.
    await waitUntil(() => call.playedMs(LOUD) > 0, 3000, "the echoed words start playing");
    // Talking over the reply: the bridge clears the playback and truncates what was heard.
    const playedBefore = call.playedMs(LOUD);
    await call.speak(400, LOUD);
    await waitUntil(() => call.clearCount >= 1, 2000, "clear arrives");
    await waitUntil(
      () => demo.standin.stats.truncates >= 1,
      2000,
      "the stand-in confirms a truncate",
    );
    const heardMs = call.playedMs(LOUD);
    const echoedMs = call.receivedAudioBytes(LOUD) / 8;
    assert.ok(heardMs >= playedBefore && heardMs > 0, "part of the reply played");
    assert.ok(heardMs < echoedMs, `the rest was cleared (heard ${heardMs} of ${echoedMs} ms)`);
    assert.equal(demo.standin.stats.rejectedTruncates, 0, "the truncate was within the audio sent");
    // Then silence: the stand-in ends the call through end_call; the farewell plays; hang-up.
    await call.speak(5000, SILENT);
    const closed = await call.closed;
    assert.equal(closed.code, 1000);
    await waitUntil(() => finished.length === 1, 3000, "call finished");
  } finally {
    await call.close();
  }
  assert.equal(demo.standin.stats.endCalls, 1);
  assert.equal(finished[0].softphone, true, "the summary marks a softphone call");
  assert.equal(finished[0].callSid, issued.callSid);
  assert.equal(finished[0].outcome, "assistant_ended");
  assert.equal(finished[0].stats.bargeIns >= 1, true);
  assert.deepEqual(restHangUps, [], "softphone calls never hang up through Twilio REST");
  const types = events.map((e) => e.type);
  for (
    const type of [
      "session.created",
      "session.updated",
      "input_audio_buffer.speech_started",
      "input_audio_buffer.speech_stopped",
      "input_audio_buffer.committed",
      "response.output_audio.delta",
      "conversation.item.truncated",
      "response.function_call_arguments.done",
      "input_audio_buffer.cleared",
      "response.done",
    ]
  ) assert.ok(types.includes(type), `the stand-in sent ${type}`);
  assert.deepEqual(schemaProblems(events), [], "every stand-in event is a valid GA server event");
  assert.deepEqual(call.protocolErrors, []);
});

Deno.test("the stand-in answers response.create with audio and rejects a truncate past it", async () => {
  const events: StandinEvent[] = [];
  const standin = StandinRealtime.start({ onEvent: (e) => events.push(e) });
  const ws = new WebSocket(`${standin.url}?model=gpt-realtime`, ["realtime"]);
  const received: StandinEvent[] = [];
  const closed = new Promise((resolve) => ws.addEventListener("close", resolve));
  ws.addEventListener("message", (e) => received.push(JSON.parse(e.data)));
  try {
    await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
    ws.send(JSON.stringify({
      type: "session.update",
      session: {
        type: "realtime",
        audio: {
          input: { format: { type: "audio/pcmu" } },
          output: { format: { type: "audio/pcmu" } },
        },
      },
    }));
    ws.send(
      JSON.stringify({ type: "response.create", response: { instructions: "Greet the caller." } }),
    );
    await waitUntil(() => received.some((e) => e.type === "response.done"), 2000);
    const deltas = received.filter((e) => e.type === "response.output_audio.delta");
    const itemId = String(deltas[0].item_id);
    const bytes = deltas.reduce((n, e) => n + atob(String(e.delta)).length, 0);
    assert.ok(bytes >= 400 * 8, "the greeting chime is at least 400 ms long");
    ws.send(JSON.stringify({
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: bytes / 8 + 100,
    }));
    ws.send(JSON.stringify({
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: 200,
    }));
    await waitUntil(() => received.some((e) => e.type === "conversation.item.truncated"), 2000);
    const error = received.find((e) => e.type === "error") as StandinEvent & {
      error: { code: string; message: string };
    };
    assert.equal(error.error.code, "invalid_value");
    assert.match(error.error.message, /already shorter than/);
    const truncated = received.find((e) => e.type === "conversation.item.truncated");
    assert.equal(truncated?.audio_end_ms, 200);
    assert.equal(standin.stats.truncates, 1);
    assert.equal(standin.stats.rejectedTruncates, 1);
    const session = received.find((e) => e.type === "session.updated") as StandinEvent & {
      session: { audio: { output: { format: unknown } } };
    };
    assert.deepEqual(session.session.audio.output.format, { type: "audio/pcmu" });
  } finally {
    ws.close();
    await closed;
    await standin.close();
  }
  assert.deepEqual(schemaProblems(events), []);
});

Deno.test("offline demo with your own agents file: your agent's greeting in the stand-in's voice, caller turns by length, and the page says it is a stand-in", async () => {
  const dir = await Deno.makeTempDir();
  const greeting = "Welcome to Bluebird Dental, this is Ava. How can I help?";
  await Deno.writeTextFile(
    `${dir}/agents.yaml`,
    [
      "agents:",
      "  - name: reception",
      `    greeting: "${greeting}"`,
      "    instructions: You book dental appointments. Be brief.",
      "",
    ].join("\n"),
  );
  const events: StandinEvent[] = [];
  const finished: CallSummary[] = [];
  await using demo = startDemo({
    env: { AGENTS_FILE: `${dir}/agents.yaml`, LOG_LEVEL: "error", END_CALL_GRACE_SECONDS: "0.2" },
    standin: { silenceTimeoutMs: 1500, onEvent: (e) => events.push(e) },
    server: {
      port: 0,
      hostname: "127.0.0.1",
      onCallFinished: (summary) => finished.push(summary),
    },
  });
  const base = demo.server.localUrl;
  // The page learns, with the agents, that the Realtime API is a stand-in and what it does.
  const page = await (await fetch(`${base}/softphone/agents`)).json();
  assert.deepEqual(page.agents, ["reception"]);
  assert.equal(page.notice, DEMO_NOTICE);
  assert.match(page.notice, /stand-in, not a model/);
  assert.match(page.notice, /latencies/);

  const issued = await (await fetch(`${base}/softphone/token`, { method: "POST" })).json();
  // The page's live view listens before the call starts; the stream closes after the call.
  const liveView = await fetch(`${base}/softphone/events?token=${issued.token}`);
  const call = await FakeTwilioCall.connect({
    url: `${base.replace("http", "ws")}/media-stream`,
    ...softphoneCall(issued),
  });
  try {
    await waitUntil(
      () => events.some((e) => e.type === "response.output_audio_transcript.done"),
      3000,
      "the greeting",
    );
    const first = events.find((e) => e.type === "response.output_audio_transcript.done")!;
    assert.equal(first.transcript, greeting, "the agent's greeting, not the stand-in's words");
    const greetingBytes = events
      .filter((e) =>
        e.type === "response.output_audio.delta" && e.response_id === first.response_id
      )
      .reduce((n, e) => n + atob(String(e.delta)).length, 0);
    // Eleven words in its own voice: about as long as saying them, not a 0.7 s chime.
    assert.ok(greetingBytes / 8 >= 2500, `greeting audio ${greetingBytes / 8} ms`);
    await call.speak(Math.ceil(greetingBytes / 8) + 200, SILENT);
    await call.speak(800, LOUD);
    await call.speak(700, SILENT);
    await waitUntil(
      () => events.some((e) => e.type === "conversation.item.input_audio_transcription.completed"),
      3000,
      "the caller turn's transcript",
    );
    await call.speak(5000, SILENT);
    await call.closed;
    await waitUntil(() => finished.length === 1, 3000, "call finished");
  } finally {
    await call.close();
    await Deno.remove(dir, { recursive: true });
  }
  // The stand-in makes no words up: the record keeps an empty transcript and the turn's length,
  // and the live view says plainly that the stand-in does not transcribe.
  const caller = finished[0].conversation.find((e) => e.kind === "user");
  assert.equal(caller?.kind === "user" ? caller.transcript : undefined, "");
  const speechMs = caller?.kind === "user" ? caller.speechMs ?? 0 : 0;
  assert.ok(speechMs >= 600 && speechMs < 1000, `the turn's length: ${speechMs} ms`);
  const shown = (await liveView.text()).split("\n").filter((l: string) => l.startsWith("data: "))
    .map((l: string) => JSON.parse(l.slice(6))).find((e: { type: string }) => e.type === "caller");
  assert.equal(shown?.text, "");
  assert.match(
    shown?.note ?? "",
    /^\(0\.[6-9] s of speech — the offline stand-in does not transcribe\)$/,
  );
  assert.deepEqual(schemaProblems(events), [], "every stand-in event is a valid GA server event");
});

Deno.test("the stand-in says the quoted text of the greeting, voicemail and filler prompts", () => {
  assert.equal(textToSay(DEFAULT_CALL_PROMPTS.voicemail("Call us back.")), "Call us back.");
  assert.equal(textToSay(toolFillerSaying("One moment.")), "One moment.");
  assert.equal(textToSay(DEFAULT_CALL_PROMPTS.idle), undefined);
  assert.equal(
    standinNote(1234),
    "(1.2 s of speech — the offline stand-in does not transcribe)",
  );
});
