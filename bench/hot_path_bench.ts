/**
 * Micro-benchmarks of the relay's hot paths (`deno task bench:micro`): what
 * the bridge does per 20 ms frame in each direction, and the mark
 * bookkeeping. Each "full" case runs the parser, the call core and the
 * encoder exactly as the call runner does, without sockets.
 *
 * @module
 */
import { CallCore } from "../src/core/call_core.ts";
import { PlaybackLedger } from "../src/core/playback_ledger.ts";
import { appendAudio, encodeClientEvent } from "../src/openai/client_events.ts";
import { parseServerEvent } from "../src/openai/server_events.ts";
import {
  encodeTwilioMessage,
  parseTwilioMessage,
  twilioMedia,
} from "../src/twilio/media_stream_messages.ts";
import { taggedFrame } from "./frame_tag.ts";
import { openaiDeltaText, STREAM_SID, TWILIO_START, twilioMediaText } from "./hot_path_fixtures.ts";

const AUDIO = taggedFrame(42);
/** The socket copies each text it sends as UTF-8: so do the encoders' benches (a string built in pieces is joined there). */
const wire = new Uint8Array(1024);
const utf8 = new TextEncoder();
const TWILIO_MEDIA = twilioMediaText(AUDIO);
const OPENAI_DELTA = openaiDeltaText(AUDIO);

function liveCore(markIntervalMs?: number): { core: CallCore; now: () => number } {
  const core = new CallCore({
    sessionUpdate: { type: "session.update", session: { type: "realtime" } },
    ...(markIntervalMs === undefined ? {} : { markIntervalMs }),
  });
  let t = 0;
  core.handle({ type: "begin" }, t);
  core.handle({ type: "openai_open", generation: 1 }, t);
  const start = parseTwilioMessage(TWILIO_START);
  if (!start.ok) throw new Error(start.error);
  core.handle({ type: "twilio_message", message: start.value }, t);
  return { core, now: () => (t += 20) };
}

Deno.bench("parse: Twilio media message", { group: "parse" }, () => {
  const r = parseTwilioMessage(TWILIO_MEDIA);
  if (!r.ok) throw new Error(r.error);
});

Deno.bench("parse: OpenAI audio delta", { group: "parse" }, () => {
  const r = parseServerEvent(OPENAI_DELTA);
  if (!r.ok) throw new Error(r.error);
});

Deno.bench("encode: input_audio_buffer.append", { group: "encode" }, () => {
  utf8.encodeInto(encodeClientEvent(appendAudio(AUDIO)), wire);
});

Deno.bench("encode: Twilio media message", { group: "encode" }, () => {
  utf8.encodeInto(encodeTwilioMessage(twilioMedia(STREAM_SID, AUDIO)), wire);
});

{
  const { core, now } = liveCore();
  Deno.bench("full: Twilio frame → append event (parse + core + encode)", { group: "full" }, () => {
    const r = parseTwilioMessage(TWILIO_MEDIA);
    if (!r.ok) throw new Error(r.error);
    const out = core.handle({ type: "twilio_message", message: r.value }, now());
    if (out[0]?.type !== "to_openai") throw new Error("no append");
    encodeClientEvent(out[0].event);
  });
}

{
  const { core, now } = liveCore();
  Deno.bench(
    "full: audio delta → Twilio media (parse + core + marks + encode)",
    { group: "full" },
    () => {
      const r = parseServerEvent(OPENAI_DELTA);
      if (!r.ok) throw new Error(r.error);
      const out = core.handle({ type: "openai_event", event: r.event, generation: 1 }, now());
      if (out[0]?.type !== "to_twilio") throw new Error("no media");
      for (const c of out) if (c.type === "to_twilio") encodeTwilioMessage(c.message);
    },
  );
}

{
  // Steady state of one call: 20 ms of audio sent, marks echoed 100 ms later.
  const ledger = new PlaybackLedger({ markIntervalMs: 100 });
  let t = 0;
  const pending: { name: string; due: number }[] = [];
  Deno.bench(
    "marks: ledger per 20 ms frame (add audio, echo due marks)",
    { group: "marks" },
    () => {
      t += 20;
      const mark = ledger.addAudio("item_1", 160, t);
      if (mark !== undefined) pending.push({ name: mark, due: t + 100 });
      while (pending.length > 0 && pending[0].due <= t) ledger.onMark(pending.shift()!.name, t);
    },
  );
}

{
  const ledger = new PlaybackLedger({ markIntervalMs: 100 });
  let t = 0;
  for (let i = 0; i < 50; i++) ledger.addAudio("item_1", 160, t += 20);
  Deno.bench("marks: barge-in snapshot with 1 s queued", { group: "marks" }, () => {
    ledger.snapshot(t + 500);
  });
}
