/**
 * Interruptions that feel human (issue 24), through the call core and a
 * simulated Twilio play-out: a "mm-hmm" mid-answer, a short noise, a real
 * interruption and a backchannel during an uninterruptible greeting, each
 * with the answer streamed in one burst, in real time and at 3× real time.
 */
import assert from "node:assert/strict";
import {
  INTERRUPTION_MOVES,
  InterruptionDecision,
  type InterruptionSettings,
  type InterruptionStage,
  onlyBackchannels,
} from "../src/core/interruption_decision.ts";
import { backchannelsFor } from "../src/prompts/mod.ts";
import { LiveCalls } from "../src/softphone/live_calls.ts";
import { CoreDriver } from "./support/core_driver.ts";
import { runScenario } from "./support/interruption_scenarios.ts";

const PACES = [0, 1, 3] as const;
const types = (events: Record<string, unknown>[]) => events.map((e) => e.type);

for (const pace of PACES) {
  Deno.test(`pace ${pace}: a 200 ms "mm-hmm" mid-answer: cut at once, resumed where it stopped, nothing lost or repeated, nothing upstream but the item's removal`, () => {
    const r = runScenario({ pace, speechMs: 200, words: "Mm-hmm." });
    assert.equal(r.clearAfterStartMs, 0, "Twilio's queue is cleared on speech_started");
    assert.ok(r.lostOrRepeatedMs <= 20, `lost or repeated ${r.lostOrRepeatedMs} ms`);
    assert.ok(Math.abs(r.heardMs - 3000) <= 20, `heard ${r.heardMs} ms of 3000`);
    assert.ok(
      r.resumedAfterStopMs !== undefined && r.resumedAfterStopMs <= 400,
      `resumed ${r.resumedAfterStopMs} ms after speech_stopped`,
    );
    assert.deepEqual(types(r.upstream), ["conversation.item.delete"]);
    assert.equal(r.upstream[0].item_id, "item_user");
  });

  Deno.test(`pace ${pace}: 150 ms of noise without words (no transcription): resumed at speech_stopped`, () => {
    const r = runScenario({ pace, speechMs: 150 });
    assert.equal(r.clearAfterStartMs, 0);
    assert.ok(r.lostOrRepeatedMs <= 20, `lost or repeated ${r.lostOrRepeatedMs} ms`);
    assert.equal(r.resumedAfterStopMs, 0);
    assert.deepEqual(types(r.upstream), ["conversation.item.delete"]);
  });

  Deno.test(`pace ${pace}: a real 1.5 s interruption: truncate within 20 ms of what was heard, the rest never played, the turn answered`, () => {
    const r = runScenario({ pace, speechMs: 1500, words: "Wait, actually I meant Tuesday." });
    assert.equal(r.clearAfterStartMs, 0);
    const truncate = r.upstream.find((e) => e.type === "conversation.item.truncate");
    assert.ok(truncate, `a truncate: ${types(r.upstream)}`);
    assert.ok(Math.abs((truncate.audio_end_ms as number) - r.heardAtSpeech) <= 20);
    assert.ok(Math.abs(r.heardMs - r.heardAtSpeech) <= 20, `heard ${r.heardMs} ms after the cut`);
    assert.equal(types(r.upstream).at(-1), "response.create", "the caller's turn is answered");
    assert.equal(types(r.upstream).includes("conversation.item.delete"), false);
    // Streamed in real time the answer is still being generated: it is cancelled first.
    if (pace === 1) {
      assert.deepEqual(types(r.upstream).slice(0, 2), [
        "response.cancel",
        "conversation.item.truncate",
      ]);
    }
  });

  Deno.test(`pace ${pace}: a backchannel during an uninterruptible greeting: the greeting plays whole, no gap, no answer to it`, () => {
    const r = runScenario({ pace, speechMs: 200, words: "Uh-huh.", uninterruptible: true });
    assert.equal(r.clearAfterStartMs, undefined, "nothing is cleared");
    assert.equal(r.gapMs, 0);
    assert.ok(r.lostOrRepeatedMs <= 20);
    assert.deepEqual(types(r.upstream), ["conversation.item.delete"]);
  });
}

Deno.test("a real question during an uninterruptible greeting is kept and answered after it", () => {
  const r = runScenario({
    pace: 1,
    speechMs: 1500,
    words: "Do you open on Sunday?",
    uninterruptible: true,
  });
  assert.equal(r.clearAfterStartMs, undefined);
  assert.equal(r.gapMs, 0, "the greeting played to the end");
  assert.equal(types(r.upstream).includes("conversation.item.truncate"), false);
  assert.equal(types(r.upstream).includes("response.cancel"), false);
  assert.deepEqual(types(r.upstream), ["response.create"], "answered once the greeting is done");
});

Deno.test("mode confirm: a backchannel leaves no gap at all; a real interruption cuts once confirmed", () => {
  const mm = runScenario({ pace: 1, speechMs: 200, words: "Mm-hmm.", mode: "confirm" });
  assert.equal(mm.clearAfterStartMs, undefined);
  assert.equal(mm.gapMs, 0);
  assert.deepEqual(types(mm.upstream), ["conversation.item.delete"]);
  const real = runScenario({ pace: 1, speechMs: 1500, mode: "confirm" });
  // Without transcription the duration decides: real once the speech outlasts min_speech_ms
  // (the VAD's silence included), while the caller still speaks.
  assert.equal(real.clearAfterStartMs, 250 + 500);
  const truncate = real.upstream.find((e) => e.type === "conversation.item.truncate");
  assert.ok(truncate);
  assert.ok(Math.abs((truncate.audio_end_ms as number) - (real.heardAtSpeech + 750)) <= 20);
});

Deno.test("without transcription the duration alone decides: 600 ms of backchannel words is real", () => {
  const r = runScenario({ pace: 0, speechMs: 600 });
  assert.ok(types(r.upstream).includes("conversation.item.truncate"));
});

Deno.test("transcription on: words that are not backchannels make short speech real ('No.')", () => {
  const r = runScenario({ pace: 0, speechMs: 200, words: "No." });
  assert.ok(types(r.upstream).includes("conversation.item.truncate"));
  assert.ok(r.resumedAfterStopMs === undefined);
});

Deno.test("transcription on, words late: the decision falls back to the duration within 250 ms, in the resume budget", () => {
  const r = runScenario({ pace: 0, speechMs: 200, words: "Mm-hmm.", wordsAfterMs: 2000 });
  assert.equal(r.resumedAfterStopMs, 250);
  assert.ok(r.lostOrRepeatedMs <= 20);
});

Deno.test("a caller turn with nothing playing is answered once committed (the bridge creates responses)", () => {
  const d = new CoreDriver({ interruptions: settings() });
  d.startCall();
  d.speechStarted({ audioStartMs: 0 });
  d.advance(900);
  d.speechStopped({ audioEndMs: 1800 });
  assert.deepEqual(types(d.sentToOpenAI(d.committed("item_user"))), ["response.create"]);
});

Deno.test("without bridge-decided interruptions speech_started is today's barge-in (truncate at once)", () => {
  const d = new CoreDriver({});
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 1000);
  d.advance(300);
  const sent = d.sentToOpenAI(d.speechStarted());
  assert.deepEqual(types(sent), ["conversation.item.truncate"]);
});

Deno.test("a false interruption stays in the call's log as such and out of a replayed conversation", () => {
  const d = new CoreDriver({ interruptions: settings(), observations: true });
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 2000);
  d.advance(400);
  d.speechStarted({ audioStartMs: 100 });
  d.advance(700);
  d.speechStopped({ audioEndMs: 1100 }); // 200 ms of speech
  d.committed("item_user");
  const entry = d.core.conversation.entries.find((e) => e.kind === "false_interruption");
  assert.deepEqual(entry && { ...entry, at: 0 }, {
    kind: "false_interruption",
    itemId: "item_user",
    verdict: "false",
    transcript: undefined,
    speechMs: 200,
    resumedItemId: "item_a",
    resumedAtMs: 400,
    at: 0,
  });
  assert.equal(d.core.conversation.userTurns, 0);
  const observed = d.commands.flatMap((c) => c.type === "observe" ? [c.event] : []);
  assert.ok(observed.some((o) => o.kind === "interruption" && o.verdict === "false"));
});

// ---- the decision itself --------------------------------------------------

function settings(extra: Partial<InterruptionSettings> = {}): InterruptionSettings {
  return {
    minSpeechMs: 250,
    backchannels: backchannelsFor("en"),
    mode: "cut",
    transcription: false,
    prefixPaddingMs: 300,
    silenceDurationMs: 500,
    ...extra,
  };
}

Deno.test("speech is measured as the API reports it: end − start − prefix padding − silence", () => {
  const decide = new InterruptionDecision(settings());
  decide.speechStarted({ now: 0, audioStartMs: 4700, itemId: "i", over: "interruptible" });
  // Speech from 5000 to 5249 (249 ms), stopped reported with 500 ms of silence included.
  assert.equal(decide.speechStopped({ now: 749, audioEndMs: 5749 }).verdict?.kind, "false");
  decide.speechStarted({ now: 1000, audioStartMs: 5700, itemId: "j", over: "interruptible" });
  const step = decide.speechStopped({ now: 1750, audioEndMs: 6750 });
  assert.deepEqual([step.verdict?.kind, step.verdict?.speechMs], ["real", 250]);
});

Deno.test("backchannel lists: one or several, any case and punctuation, hyphens optional", () => {
  const en = backchannelsFor("en");
  for (const words of ["Mm-hmm.", "mmhmm", "Uh huh", "Yeah, okay.", "Right right.", "I see."]) {
    assert.equal(onlyBackchannels(words, en), true, words);
  }
  for (const words of ["No.", "Yeah, but wait", "", "okay so listen"]) {
    assert.equal(onlyBackchannels(words, en), false, words);
  }
  assert.equal(onlyBackchannels("D'accord.", backchannelsFor("fr")), true);
  assert.equal(onlyBackchannels("Vale, vale.", backchannelsFor("es-ES")), true);
  assert.deepEqual(backchannelsFor("xx"), backchannelsFor("en"));
});

Deno.test("the decision's moves are asserted: an impossible move throws", () => {
  const decide = new InterruptionDecision(settings());
  decide.speechStarted({ now: 0, audioStartMs: 0, itemId: "i", over: "interruptible" });
  assert.throws(
    () => decide.speechStarted({ now: 1, audioStartMs: 0, itemId: "j", over: "protected" }),
    /no move from speaking_over to protected/,
  );
});

Deno.test("the interruption decision's diagram is in the manual too (docs/call-flow.md)", async () => {
  const table =
    (Object.entries(INTERRUPTION_MOVES) as [InterruptionStage, readonly InterruptionStage[]][])
      .flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`));
  const manual = await Deno.readTextFile(new URL("../docs/call-flow.md", import.meta.url));
  for (const edge of table) {
    const [from, to] = edge.split("->");
    assert.match(manual, new RegExp(`${from} --> ${to}`), `docs/call-flow.md lacks ${edge}`);
  }
});

Deno.test("the live view gets each false interruption (shown struck through with where it resumed)", async () => {
  const live = new LiveCalls();
  const body = live.subscribe("SP1");
  const observer = live.observeCall("SP1", 0, { agent: "front-desk" });
  const interruption = {
    itemId: "item_u",
    verdict: "backchannel",
    speechMs: 200,
    text: "Mm-hmm.",
    resumedItemId: "item_a",
    resumedAtMs: 1400,
  } as const;
  observer.observe({ kind: "false_interruption", ...interruption }, 2000);
  observer.finished(
    { outcome: "caller_hung_up", durationMs: 3000 } as Parameters<typeof observer.finished>[0],
  );
  const text = await new Response(body).text();
  const event = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) =>
    JSON.parse(l.slice(6))
  )
    .find((e) => e.type === "false_interruption");
  assert.deepEqual(event, { type: "false_interruption", ...interruption, t: 2000 });
  const view = await Deno.readTextFile(new URL("../src/softphone/live_view.js", import.meta.url));
  assert.match(view, /case "false_interruption"[\s\S]*el\(\s*"s"/, "rendered inside <s>");
});

Deno.test("a tool output flagged speak_uninterrupted: the answer it leads to plays whole; what the caller says is answered after", () => {
  const d = new CoreDriver({ interruptions: settings(), customTools: ["read_terms"] });
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "call_1", "read_terms");
  d.responseDone("resp_1");
  const next = d.sentToOpenAI(
    d.toolResult("call_1", { status: 200, data: { terms: "…", speak_uninterrupted: true } }),
  );
  assert.deepEqual(types(next), ["conversation.item.create", "response.create"]);
  d.responseCreated("resp_2");
  d.delta("resp_2", "item_terms", 3000);
  d.advance(500);
  const spoken = d.speechStarted({ audioStartMs: 200 });
  assert.equal(d.sentToTwilio(spoken).some((m) => m.event === "clear"), false, "not cut");
  d.advance(1900);
  d.speechStopped({ audioEndMs: 2400 }); // 1.4 s: a real question
  const answered = d.sentToOpenAI(d.committed("item_user"));
  assert.deepEqual(types(answered), [], "not while the terms are being said");
  assert.deepEqual(types(d.sentToOpenAI(d.responseDone("resp_2"))), ["response.create"]);
  assert.equal(d.sentToOpenAI().some((e) => e.type === "conversation.item.truncate"), false);
  // The same output without the flag: the next answer can be interrupted.
  const plain = new CoreDriver({ interruptions: settings(), customTools: ["read_terms"] });
  plain.startCall();
  plain.responseCreated("resp_1");
  plain.functionCall("resp_1", "call_1", "read_terms");
  plain.responseDone("resp_1");
  plain.toolResult("call_1", { status: 200, data: { terms: "…" } });
  plain.responseCreated("resp_2");
  plain.delta("resp_2", "item_terms", 3000);
  plain.advance(500);
  assert.ok(plain.sentToTwilio(plain.speechStarted()).some((m) => m.event === "clear"));
});

Deno.test("a cancel that loses the race with the response's end is not an OpenAI error", () => {
  const d = new CoreDriver({ interruptions: settings() });
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 3000);
  d.advance(500);
  d.speechStarted({ audioStartMs: 200 });
  d.advance(800); // still speaking past the bound: real
  assert.ok(types(d.sentToOpenAI()).includes("response.cancel"));
  d.openaiError({
    type: "invalid_request_error",
    code: "response_cancel_not_active",
    message: "Cancellation failed: no active response found.",
    param: null,
  });
  assert.equal(d.core.stats.openaiErrors, 0);
});

Deno.test("semantic_vad: no timer decides while the caller speaks; with transcription the words decide whatever the length", () => {
  const decide = new InterruptionDecision(settings({
    transcription: true,
    semanticVad: true,
    prefixPaddingMs: 0,
    silenceDurationMs: 0,
  }));
  const started = decide.speechStarted({
    now: 0,
    audioStartMs: 0,
    itemId: "i",
    over: "interruptible",
  });
  assert.equal(started.timerMs, undefined);
  // The model ended the turn 2.2 s later (a 200 ms "mm-hmm" and its semantic wait).
  const stopped = decide.speechStopped({ now: 2200, audioEndMs: 2200 });
  assert.deepEqual([stopped.verdict, stopped.timerMs, decide.stage], [
    undefined,
    250,
    "awaiting_words",
  ]);
  assert.equal(decide.words("i", "Mm-hmm.").verdict?.kind, "backchannel");
  // The same with real words.
  decide.speechStarted({ now: 3000, audioStartMs: 3000, itemId: "j", over: "interruptible" });
  decide.speechStopped({ now: 5000, audioEndMs: 5000 });
  assert.equal(decide.words("j", "Actually, make it Tuesday.").verdict?.kind, "real");
});

Deno.test("a false interruption owes nothing: a new session after a drop does not answer it", () => {
  const d = new CoreDriver({
    interruptions: settings({ transcription: true }),
    reconnectWindowMs: 5000,
  });
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 2000);
  d.audioDone("resp_1", "item_a");
  d.responseDone("resp_1");
  d.advance(400);
  d.speechStarted({ audioStartMs: 100 });
  d.advance(700);
  d.speechStopped({ audioEndMs: 1100 });
  d.committed("item_user");
  d.transcriptionCompleted("item_user", "Mm-hmm.");
  assert.ok(types(d.sentToOpenAI()).includes("conversation.item.delete"));
  d.openaiClosed({ code: 1011, reason: "error", opened: true });
  d.advance(10);
  const sent = d.sentToOpenAI(d.openaiOpen(2));
  assert.equal(types(sent).includes("response.create"), false, types(sent).join(", "));
});

Deno.test("INTERRUPT_RESPONSE=false: nothing interrupts the assistant; a real turn is answered after it", () => {
  const r = runScenario({ pace: 1, speechMs: 1500, words: "Do you open on Sunday?" }, {
    interruptResponse: false,
  });
  assert.equal(r.clearAfterStartMs, undefined);
  assert.equal(r.gapMs, 0);
  assert.deepEqual(types(r.upstream), ["response.create"]);
});
