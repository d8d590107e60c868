/**
 * The interruption scenarios of issue 24, driven through the call core and a
 * simulated Twilio play-out ({@link PlayoutSimulator}) on a fake clock: the
 * assistant answers with 3 s of audio (thirty 100 ms chunks, each filled with
 * its own byte value so every ms the caller heard can be attributed), sent
 * at a pace (`0`: one burst; `1`: real time; `3`: three times real time),
 * and the caller speaks 1 s in, as the live API reports it: `speech_started`
 * with `audio_start_ms` = onset − prefix padding, `speech_stopped` when the
 * silence duration has passed, with `audio_end_ms` including it, then
 * `input_audio_buffer.committed` and, when transcription is on, the words.
 *
 * What comes out is what a caller and OpenAI would notice: what was heard
 * of each chunk (lost or repeated ms), the silence the caller heard (gap),
 * when resumed audio went to Twilio, and what went upstream.
 *
 * @module
 */
import type { CallCoreOptions } from "../../src/core/call_core_options.ts";
import type { InterruptionSettings } from "../../src/core/interruption_decision.ts";
import { CoreDriver, PlayoutSimulator } from "./core_driver.ts";
import { deliver, tick } from "./playout_driving.ts";

/** The VAD settings the scenarios assume (the bridge's server_vad defaults). */
export const PREFIX_MS = 300;
export const SILENCE_MS = 500;
const CHUNKS = 30;
const CHUNK_MS = 100;
const FIRST_VALUE = 0x10;
/** When the caller starts speaking (ms). */
export const SPEAK_AT = 1000;

/** One scenario. */
export interface InterruptionScenario {
  /** Speech length (ms). */
  speechMs: number;
  /** The words, when transcription is on (`undefined`: transcription off). */
  words?: string;
  /** Ms after `speech_stopped` the words arrive. Default 120. */
  wordsAfterMs?: number;
  /** Assistant audio pace: 0 burst, 1 real time, 3 three times real time. */
  pace: 0 | 1 | 3;
  mode?: "cut" | "confirm";
  /** The answer is an uninterruptible greeting. */
  uninterruptible?: boolean;
  minSpeechMs?: number;
}

/** What happened. */
export interface ScenarioResult {
  /** Ms of the answer the caller heard in all. */
  heardMs: number;
  /** Σ over chunks of |heard − 100 ms| (lost plus repeated audio). */
  lostOrRepeatedMs: number;
  /** Ms the caller heard no assistant audio before the answer ended (3000 ms of audio). */
  gapMs: number;
  /** Ms from `speech_stopped` to the first resumed audio sent to Twilio (undefined: none). */
  resumedAfterStopMs: number | undefined;
  /** Ms from `speech_started` to the `clear` (undefined: none). */
  clearAfterStartMs: number | undefined;
  /** What the caller had heard when they started speaking (ms). */
  heardAtSpeech: number;
  /** Client events sent upstream after the caller started speaking. */
  upstream: Record<string, unknown>[];
}

/** The settings of a scenario. */
export function scenarioSettings(s: InterruptionScenario): InterruptionSettings {
  return {
    minSpeechMs: s.minSpeechMs ?? 250,
    backchannels: ["mm-hmm", "uh-huh", "yeah", "okay", "right", "sure"],
    mode: s.mode ?? "cut",
    transcription: s.words !== undefined,
    prefixPaddingMs: PREFIX_MS,
    silenceDurationMs: SILENCE_MS,
  };
}

/** Runs one scenario. */
export function runScenario(
  s: InterruptionScenario,
  extra: Partial<CallCoreOptions> = {},
): ScenarioResult {
  const d = new CoreDriver({
    interruptions: scenarioSettings(s),
    greeting: s.uninterruptible ? "Welcome." : undefined,
    greetingInterruptible: !s.uninterruptible,
    ...extra,
  });
  const sim = new PlayoutSimulator();
  deliver(d, sim, d.startCall());
  deliver(d, sim, d.responseCreated("resp_1"));
  const interval = s.pace === 0 ? 0 : CHUNK_MS / s.pace;
  const dueAt = (i: number) => Math.round(i * interval);
  let sent = 0;
  const sendDue = () => {
    while (sent < CHUNKS && dueAt(sent) <= d.now) {
      deliver(d, sim, d.delta("resp_1", "item_a", CHUNK_MS, FIRST_VALUE + sent));
      sent++;
      if (sent === CHUNKS) {
        deliver(d, sim, d.audioDone("resp_1", "item_a"));
        deliver(d, sim, d.responseDone("resp_1"));
      }
    }
  };
  const heardTotal = () => {
    let total = 0;
    for (let i = 0; i < CHUNKS; i++) total += sim.playedMs(FIRST_VALUE + i);
    return total;
  };
  // When the first `clear` after the speech started, and the first media after it stopped, went out.
  let scanned = d.commands.length;
  let clearAt: number | undefined;
  let resumeAt: number | undefined;
  let phase: "before" | "speaking" | "stopped" = "before";
  let endedAt: number | undefined;
  const watch = () => {
    if (endedAt === undefined && sent === CHUNKS && heardTotal() >= 3000 - 0.5) endedAt = d.now;
    for (; scanned < d.commands.length; scanned++) {
      const c = d.commands[scanned];
      if (c.type !== "to_twilio") continue;
      if (phase !== "before" && c.message.event === "clear") clearAt ??= d.now;
      if (phase === "stopped" && c.message.event === "media") resumeAt ??= d.now;
    }
  };
  const runUntil = (t: number) => {
    while (d.now < t) {
      sendDue();
      tick(d, sim, 1);
      watch();
    }
    sendDue();
    watch();
  };
  runUntil(SPEAK_AT);
  const heardAtSpeech = heardTotal();
  const startedAt = d.now;
  const upstreamFrom = d.commands.length;
  phase = "speaking";
  deliver(d, sim, d.speechStarted({ audioStartMs: SPEAK_AT - PREFIX_MS }));
  watch();
  const stopAt = SPEAK_AT + s.speechMs + SILENCE_MS;
  runUntil(stopAt);
  const stoppedAt = d.now;
  phase = "stopped";
  deliver(d, sim, d.speechStopped({ audioEndMs: stopAt }));
  deliver(d, sim, d.committed("item_user"));
  watch();
  if (s.words !== undefined) {
    runUntil(stoppedAt + (s.wordsAfterMs ?? 120));
    deliver(d, sim, d.transcriptionCompleted("item_user", s.words));
    watch();
  }
  // Play everything out.
  runUntil(stopAt + 6000);
  let lost = 0;
  for (let i = 0; i < CHUNKS; i++) lost += Math.abs(sim.playedMs(FIRST_VALUE + i) - CHUNK_MS);
  return {
    heardMs: heardTotal(),
    lostOrRepeatedMs: lost,
    gapMs: endedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, endedAt - 3000),
    resumedAfterStopMs: resumeAt === undefined ? undefined : resumeAt - stoppedAt,
    clearAfterStartMs: clearAt === undefined ? undefined : clearAt - startedAt,
    heardAtSpeech,
    upstream: d.sentToOpenAI(d.commands.slice(upstreamFrom)).filter((e) =>
      e.type !== "input_audio_buffer.append"
    ),
  };
}
