/**
 * The waiting sound (issue 11, defect 4): while OpenAI is slow to answer or
 * a reconnect takes longer than a second, the caller hears a soft chime
 * instead of dead air, and it stops once a session is there.
 */
import assert from "node:assert/strict";
import { builtInWaitingSound, loadWaitingSound, toFrames } from "../src/audio/waiting_sound.ts";
import { decodeMulaw } from "../src/audio/mulaw.js";
import type { CallCommand } from "../src/core/call_types.ts";
import { CoreDriver, PlayoutSimulator } from "./support/core_driver.ts";
import { deliver, tick } from "./support/playout_driving.ts";

const SOUND = toFrames(new Uint8Array(800).fill(0x7e)); // 100 ms, value 0x7e

function startWithoutOpenAI(d: CoreDriver, sim: PlayoutSimulator): void {
  deliver(d, sim, d.begin());
  deliver(d, sim, d.start());
}

Deno.test("OpenAI slow at call start: the caller hears the waiting sound within 1.5 s, then the assistant", () => {
  const d = new CoreDriver({ greeting: "Hello!", waitingSound: SOUND });
  const sim = new PlayoutSimulator();
  startWithoutOpenAI(d, sim);
  tick(d, sim, 999);
  assert.equal(sim.playedMs(0x7e), 0, "nothing before a second");
  tick(d, sim, 501);
  assert.ok(sim.playedMs(0x7e) >= 400, `${sim.playedMs(0x7e)} ms heard by 1.5 s`);
  // The loop goes on while OpenAI is away.
  tick(d, sim, 1500);
  assert.ok(sim.playedMs(0x7e) >= 1800);
  // OpenAI answers: the sound stops (what is queued, at most 200 ms, plays out) and the greeting goes.
  const open = d.openaiOpen();
  deliver(d, sim, open);
  assert.ok(d.sentToOpenAI(open).some((e) => e.type === "response.create"));
  const heard = sim.playedMs(0x7e);
  tick(d, sim, 1000);
  assert.ok(sim.playedMs(0x7e) - heard <= 200);
  assert.equal(d.timers.has("waiting_sound"), false);
});

Deno.test("OpenAI answering within a second: no waiting sound at all", () => {
  const d = new CoreDriver({ waitingSound: SOUND });
  const sim = new PlayoutSimulator();
  startWithoutOpenAI(d, sim);
  tick(d, sim, 400);
  deliver(d, sim, d.openaiOpen());
  tick(d, sim, 3000);
  assert.equal(sim.playedMs(0x7e), 0);
});

Deno.test("OpenAI unreachable: waiting sound from 1 s until the apology at the end of the window", () => {
  const d = new CoreDriver({ waitingSound: SOUND, reconnectWindowMs: 5000 });
  const sim = new PlayoutSimulator();
  startWithoutOpenAI(d, sim);
  let finished = false;
  // Every socket fails at once, as when OpenAI cannot be reached.
  for (let t = 0; t < 6000 && !finished; t += 10) {
    for (const c of d.commands.splice(0)) {
      if (c.type === "open_openai") {
        deliver(
          d,
          sim,
          d.openaiClosed({ code: 1006, opened: false, generation: c.generation }),
        );
      }
      if (c.type === "finish") finished = true;
    }
    tick(d, sim, 10);
  }
  assert.ok(finished, "the call ends with the apology");
  assert.ok(sim.playedMs(0x7e) >= 3000, `${sim.playedMs(0x7e)} ms of waiting sound`);
});

Deno.test("a mid-call reconnect longer than a second plays the waiting sound; it stops on the switch", () => {
  const d = new CoreDriver({ waitingSound: SOUND, reconnectWindowMs: 5000 });
  const sim = new PlayoutSimulator();
  deliver(d, sim, d.startCall());
  deliver(d, sim, d.openaiClosed({ code: 1011, reason: "x", opened: true }));
  tick(d, sim, 900);
  assert.equal(sim.playedMs(0x7e), 0);
  tick(d, sim, 600);
  assert.ok(sim.playedMs(0x7e) > 0);
  deliver(d, sim, d.openaiOpen(2));
  const heard = sim.playedMs(0x7e);
  tick(d, sim, 1000);
  assert.ok(sim.playedMs(0x7e) - heard <= 200);
});

/** A reconnect long enough for the waiting sound, then the caller speaks over it. */
function speakOverWaitingSound(): { d: CoreDriver; out: CallCommand[] } {
  const d = new CoreDriver({ waitingSound: SOUND, reconnectWindowMs: 5000, observations: true });
  const sim = new PlayoutSimulator();
  deliver(d, sim, d.startCall());
  deliver(d, sim, d.openaiClosed({ code: 1011, reason: "x", opened: true }));
  tick(d, sim, 1100);
  deliver(d, sim, d.openaiOpen(2));
  return { d, out: d.speechStarted() };
}

Deno.test("the waiting sound is never truncated: a barge-in clears it but truncates only speech", () => {
  const { d, out } = speakOverWaitingSound();
  assert.deepEqual(d.sentToTwilio(out).map((m) => m.event), ["clear"]);
  assert.deepEqual(d.sentToOpenAI(out), []);
});

Deno.test("talking over the waiting sound stops it but is no barge-in (metrics, live view, counts)", () => {
  const { d, out } = speakOverWaitingSound();
  assert.deepEqual(d.sentToTwilio(out).map((m) => m.event), ["clear"]);
  const kinds = out.flatMap((c) => c.type === "observe" ? [c.event.kind] : []);
  assert.equal(kinds.includes("barge_in"), false, `observed ${kinds.join(", ")}`);
  assert.equal(d.core.stats.bargeIns, 0);
  // A real barge-in still counts: the assistant speaks, the caller cuts in.
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_1", 1000);
  const cut = d.speechStarted();
  assert.ok(cut.some((c) => c.type === "observe" && c.event.kind === "barge_in"));
  assert.equal(d.core.stats.bargeIns, 1);
});

Deno.test("WAITING_SOUND=off is silence; a file is read as raw μ-law; a bad file is named", () => {
  const d = new CoreDriver({ waitingSound: [] });
  const sim = new PlayoutSimulator();
  startWithoutOpenAI(d, sim);
  tick(d, sim, 3000);
  assert.equal(d.sentToTwilio().length, 0);
  assert.equal(loadWaitingSound("off"), undefined);
  assert.equal(loadWaitingSound("on")?.length, 100);
  assert.equal(loadWaitingSound("x.ulaw", () => new Uint8Array(1600))?.length, 10);
  assert.throws(
    () => loadWaitingSound("missing.ulaw", () => Deno.readFileSync("/nonexistent/missing.ulaw")),
    /WAITING_SOUND=missing\.ulaw: the file cannot be read/,
  );
  assert.throws(() => loadWaitingSound("tiny.ulaw", () => new Uint8Array(10)), /has 10 bytes/);
});

Deno.test("the built-in chime is audible and soft: peaks between -24 and -6 dBFS, silence between chimes", () => {
  const sound = builtInWaitingSound();
  const linear = [...decodeMulaw(sound)];
  const peak = Math.max(...linear.map(Math.abs));
  const dbfs = 20 * Math.log10(peak / 32768);
  assert.ok(dbfs > -24 && dbfs < -6, `${dbfs.toFixed(1)} dBFS`);
  const tail = linear.slice(12000);
  assert.ok(Math.max(...tail.map(Math.abs)) < 100, "quiet after the chime");
});
