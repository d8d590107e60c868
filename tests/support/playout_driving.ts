/**
 * Driving a {@link CoreDriver} together with a {@link PlayoutSimulator}: what
 * the core sends to Twilio is played out by the simulated Twilio, whose mark
 * echoes are fed back on time as the fake clock advances; and the barge-in
 * precision check built on it ({@link bargeInIsExact}), shared by the core
 * tests' property tests.
 *
 * @example
 * ```ts
 * import { CoreDriver, PlayoutSimulator } from "./core_driver.ts";
 * import { deliver, tick } from "./playout_driving.ts";
 *
 * const d = new CoreDriver({ greeting: undefined });
 * const sim = new PlayoutSimulator();
 * d.startCall();
 * d.responseCreated("resp_1");
 * deliver(d, sim, d.delta("resp_1", "item_a", 300, 0x33));
 * tick(d, sim, 100);
 * if (sim.playedMs(0x33) !== 100) throw new Error("100 ms heard after 100 ms");
 * ```
 *
 * @module
 */
import type { CallCoreOptions } from "../../src/core/call_core_options.ts";
import type { CallCommand } from "../../src/core/call_types.ts";
import { CoreDriver, PlayoutSimulator } from "./core_driver.ts";

/** Runs `commands` through the play-out simulator and feeds the marks it echoes back. */
export function deliver(d: CoreDriver, sim: PlayoutSimulator, commands: CallCommand[]): void {
  const echoes = sim.accept(d.sentToTwilio(commands), d.now);
  for (const name of echoes) deliver(d, sim, d.mark(name));
}

/** Advances time 1 ms at a time, letting the simulator echo marks on time. */
export function tick(d: CoreDriver, sim: PlayoutSimulator, ms: number): void {
  for (let i = 0; i < ms; i++) {
    deliver(d, sim, d.advance(1));
    for (const name of sim.advanceTo(d.now)) deliver(d, sim, d.mark(name));
  }
}

/** One chunk of assistant audio and the pause after it, for {@link bargeInIsExact}. */
export interface AudioChunk {
  ms: number;
  gap: number;
}

/**
 * Plays `chunks` of one assistant item through the core and a simulated
 * Twilio, lets the caller speak at `speakAt` ms, and checks the truncate:
 * there is one, it is a whole number of ms, never beyond the audio sent, and
 * within 20 ms of what the simulated caller really heard.
 */
export function bargeInIsExact(
  chunks: AudioChunk[],
  speakAt: number,
  options: Partial<CallCoreOptions>,
): boolean {
  const d = new CoreDriver(options);
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  let sentMs = 0;
  let elapsed = 0;
  for (const chunk of chunks) {
    if (elapsed >= speakAt) break;
    deliver(d, sim, d.delta("resp_1", "item_a", chunk.ms, 0x33));
    sentMs += chunk.ms;
    const wait = Math.min(chunk.gap, speakAt - elapsed);
    tick(d, sim, wait);
    elapsed += wait;
  }
  if (elapsed < speakAt) tick(d, sim, speakAt - elapsed);
  const heard = sim.playedMs(0x33);
  const sent = d.sentToOpenAI(d.speechStarted()).filter((e) =>
    e.type === "conversation.item.truncate"
  );
  // The item is still streaming, so something is always playing: a truncate must come.
  if (sent.length === 0) return false;
  const end = sent[0].audio_end_ms as number;
  return Number.isInteger(end) && end <= sentMs && Math.abs(end - heard) <= 20;
}
