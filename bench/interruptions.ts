/**
 * Interruption figures for docs/performance.md (issue 24).
 *
 * 1. Through the call core and a simulated Twilio on a fake clock
 *    (deterministic): each scenario at answer paces 0 (one burst), 1× and 3×
 *    real time — what the caller heard, lost or repeated audio, the silence
 *    heard, when resumed audio went out after `speech_stopped`, the truncate
 *    error of real interruptions.
 * 2. Over real sockets (bridge, fake Twilio, fake Realtime; wall clock, so
 *    this machine's load shows): a "mm-hmm" mid-answer, `--runs` times per
 *    pace — `clear` after `speech_started`, resumed media after
 *    `speech_stopped`, answer heard.
 *
 * Run: `deno task bench:interruptions [--runs=5]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runScenario } from "../tests/support/interruption_scenarios.ts";
import { backchannelCall } from "../tests/support/interruption_calls.ts";
import { BridgeHarness } from "../tests/support/bridge_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" } },
});
const runs = Math.max(1, Number(values.runs));

const scenarios = [
  ["mm-hmm 200 ms (words)", { speechMs: 200, words: "Mm-hmm." }],
  ["noise 150 ms (no words)", { speechMs: 150 }],
  ["real 1.5 s (words)", { speechMs: 1500, words: "Wait, actually I meant Tuesday." }],
  ["uh-huh during an uninterruptible greeting", {
    speechMs: 200,
    words: "Uh-huh.",
    uninterruptible: true,
  }],
  ["mm-hmm 200 ms, mode confirm", { speechMs: 200, words: "Mm-hmm.", mode: "confirm" }],
] as const;

console.log("## Core and simulated Twilio (fake clock)\n");
console.log(
  "| scenario | pace | heard (ms of 3000) | lost or repeated (ms) | silence heard (ms) | resumed after stop (ms) | truncate error (ms) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const [name, scenario] of scenarios) {
  for (const pace of [0, 1, 3] as const) {
    const r = runScenario({ pace, ...scenario });
    const truncate = r.upstream.find((e) => e.type === "conversation.item.truncate");
    const real = truncate !== undefined;
    console.log(
      `| ${name} | ${pace === 0 ? "burst" : `${pace}×`} | ${r.heardMs} | ${
        real ? "— (cut)" : r.lostOrRepeatedMs
      } | ${real ? "— (cut)" : r.gapMs} | ${
        real ? "—" : r.clearAfterStartMs === undefined ? "— (never stopped)" : r.resumedAfterStopMs
      } | ${
        real ? Math.abs((truncate.audio_end_ms as number) - r.heardAtSpeech) : "— (none sent)"
      } |`,
    );
  }
}

console.log(`\n## Over sockets, "mm-hmm" mid-answer (${runs} runs per pace; median / max)\n`);
console.log(
  "| pace | clear after speech_started (ms) | resumed after speech_stopped (ms) | heard − 3000 (ms) |",
);
console.log("| --- | --- | --- | --- |");
const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)].toFixed(1)} / ${s[s.length - 1].toFixed(1)}`;
};
for (const [name, pace] of [["burst", "burst"], ["1×", 100], ["3×", 33]] as const) {
  const clear: number[] = [];
  const resumed: number[] = [];
  const heard: number[] = [];
  for (let i = 0; i < runs; i++) {
    await using h = await BridgeHarness.start({ LOG_LEVEL: "warning" });
    const r = await backchannelCall(h, pace);
    clear.push(r.clearMs);
    resumed.push(r.resumedMs);
    heard.push(r.heardMs - 3000);
    await r.call.hangUp();
    await h.waitForFinished(1);
  }
  console.log(`| ${name} | ${stat(clear)} | ${stat(resumed)} | ${stat(heard)} |`);
}
