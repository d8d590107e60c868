import assert from "node:assert/strict";
import type { CallCommand } from "../src/core/call_types.ts";
import { audioB64, CoreDriver } from "./support/core_driver.ts";

function finishOf(commands: CallCommand[]) {
  const finish = commands.find((c) => c.type === "finish");
  return finish?.type === "finish" ? finish : undefined;
}

function logs(commands: CallCommand[]) {
  return commands.filter((c) => c.type === "log").map((c) => c.type === "log" ? c.message : "");
}

/** Plays a farewell response of `ms` and lets Twilio echo its final mark. */
function playFarewell(d: CoreDriver, responseId: string, ms: number): CallCommand[] {
  d.responseCreated(responseId);
  d.delta(responseId, `item_${responseId}`, ms);
  d.audioDone(responseId, `item_${responseId}`);
  const done = d.responseDone(responseId);
  const marks = d.marks(done);
  d.advance(ms);
  return d.mark(marks[marks.length - 1]);
}

Deno.test("MAX_CALL_SECONDS: the assistant says a short goodbye, then the call hangs up", () => {
  const d = new CoreDriver({ maxCallMs: 60_000, endCallGraceMs: 1000 });
  d.startCall();
  d.media();
  assert.equal(d.timers.get("max_duration"), 60_000);
  const atLimit = d.advance(60_000);
  const sent = d.sentToOpenAI(atLimit);
  assert.deepEqual(sent.map((e) => e.type), ["input_audio_buffer.clear", "response.create"]);
  const response = sent[1].response as { instructions: string; tool_choice: string };
  assert.match(response.instructions, /time limit/);
  assert.match(response.instructions, /goodbye/);
  assert.equal(response.tool_choice, "none");
  // Caller audio no longer reaches OpenAI (it cannot interrupt the goodbye).
  assert.deepEqual(d.sentToOpenAI(d.media()), []);
  playFarewell(d, "resp_bye", 800);
  const end = d.advance(1000);
  const finish = finishOf(end);
  assert.equal(finish?.action, "hang_up");
  assert.equal(finish?.outcome, "assistant_ended");
  assert.equal(finish?.reason, "Maximum call duration reached.");
});

Deno.test("MAX_CALL_SECONDS while the assistant speaks: the goodbye waits for that response", () => {
  const d = new CoreDriver({ maxCallMs: 10_000, endCallWatchdogMs: 4000 });
  d.startCall();
  d.advance(9_000);
  d.responseCreated("resp_talk");
  d.delta("resp_talk", "item_talk", 500);
  const atLimit = d.sentToOpenAI(d.advance(1000));
  assert.deepEqual(atLimit.map((e) => e.type), ["input_audio_buffer.clear"]);
  const after = d.sentToOpenAI(d.responseDone("resp_talk"));
  assert.equal(after[0]?.type, "response.create");
});

Deno.test("MAX_CALL_SECONDS with an unresponsive model still ends the call (watchdog)", () => {
  const d = new CoreDriver({ maxCallMs: 5_000, endCallWatchdogMs: 4000 });
  d.startCall();
  d.advance(5_000);
  const out = d.advance(4000);
  assert.equal(finishOf(out)?.action, "hang_up");
});

Deno.test("caller idle: silence wraps the call up; speech and assistant audio reset the clock", () => {
  const d = new CoreDriver({ callerIdleMs: 30_000, endCallGraceMs: 0 });
  d.startCall();
  d.advance(20_000);
  d.speechStarted(); // the caller speaks at 20 s
  assert.equal(finishOf(d.advance(15_000)), undefined); // 35 s: only 15 s of silence
  assert.deepEqual(d.sentToOpenAI(d.advance(0)), []);
  // The assistant answers with 8 s of audio; silence counts from the end of its playback.
  d.responseCreated("resp_a");
  d.delta("resp_a", "item_a", 8000);
  d.responseDone("resp_a"); // at 35 s, audio plays until 43 s
  let sent = d.sentToOpenAI(d.advance(30_000)); // 65 s: only 22 s since the audio ended
  assert.deepEqual(sent, []);
  sent = d.sentToOpenAI(d.advance(8_000)); // 73 s: 30 s of quiet
  assert.deepEqual(sent.map((e) => e.type), ["input_audio_buffer.clear", "response.create"]);
  assert.match(
    (sent[1].response as { instructions: string }).instructions,
    /have not heard from them/,
  );
  const end = playFarewell(d, "resp_idle_bye", 500);
  assert.equal(finishOf([...end, ...d.advance(0)])?.reason, "Caller idle timeout.");
});

Deno.test("caller idle is off by default, and never fires while a tool runs", () => {
  const off = new CoreDriver();
  off.startCall();
  assert.equal(off.timers.has("caller_idle"), false);
  assert.equal(off.timers.has("max_duration"), false);
  const d = new CoreDriver({ callerIdleMs: 1000, customTools: ["slow"], toolFillerAfterMs: 0 });
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "call_1", "slow");
  d.responseDone("resp_1");
  assert.deepEqual(d.sentToOpenAI(d.advance(5000)), [], "no wrap-up while the tool runs");
  // With the tool filler on, the only thing said is the filler (out of band), never a wrap-up.
  const f = new CoreDriver({ callerIdleMs: 1000, customTools: ["slow"] });
  f.startCall();
  f.responseCreated("resp_1");
  f.functionCall("resp_1", "call_1", "slow");
  f.responseDone("resp_1");
  const sent = f.sentToOpenAI(f.advance(5000));
  assert.deepEqual(sent.map((e) => (e.response as { conversation?: string }).conversation), [
    "none",
  ]);
});

Deno.test("no start message in time closes the stream with 1008", () => {
  const d = new CoreDriver({ startTimeoutMs: 3000 });
  d.begin();
  d.openaiOpen();
  const out = d.advance(3000);
  const finish = finishOf(out);
  assert.equal(finish?.outcome, "refused");
  assert.equal(finish?.action, "close_stream");
  assert.deepEqual(finish?.close, { code: 1008, reason: "no start message" });
  // A start that arrives in time cancels the timer.
  const ok = new CoreDriver({ startTimeoutMs: 3000 });
  ok.startCall();
  assert.equal(ok.timers.has("start_timeout"), false);
  assert.equal(finishOf(ok.advance(5000)), undefined);
});

Deno.test("a refused stream finishes at once with its close code, and one warning", () => {
  const d = new CoreDriver();
  d.begin();
  const out = d.refuse(1009, "message too big");
  assert.deepEqual(finishOf(out)?.close, { code: 1009, reason: "message too big" });
  assert.equal(out.filter((c) => c.type === "log" && c.level === "warning").length, 1);
  assert.deepEqual(d.refuse(1008, "again"), []);
});

Deno.test("floods of ignored Twilio input log one line per kind, not one per message", () => {
  const d = new CoreDriver();
  d.begin();
  d.openaiOpen();
  const before: CallCommand[] = [];
  for (let i = 0; i < 200; i++) before.push(...d.media(audioB64(20)));
  assert.equal(logs(before).length, 1);
  d.startCall();
  const junk: CallCommand[] = [];
  for (let i = 0; i < 200; i++) {
    junk.push(...d.media("AAAA", { streamSid: "MZother" }));
    junk.push(...d.mark(`nobody-sent-${i}`));
    junk.push(...d.start({ callSid: "CA2" }));
  }
  assert.equal(logs(junk).length, 3, logs(junk).join("\n"));
  assert.equal(d.core.finished, false);
});

Deno.test("STREAM_SILENCE: a quiet stream is asked with a mark; no answer loses it (resumable); any message resets it", () => {
  const d = new CoreDriver({ streamSilenceMs: 10_000 });
  d.startCall();
  assert.equal(d.timers.get("stream_silence"), 10_000);
  // Twilio keeps talking (a frame every 20 ms, here one every 4 s is enough): the check re-arms
  // for the rest of the bound from the last message, and the call goes on.
  for (let t = 0; t < 5; t++) {
    d.advance(4000);
    d.media();
  }
  assert.equal(finishOf(d.advance(2000)), undefined); // 22 s in, last message at 20 s
  // Re-armed at 18 s for the rest of the bound from the message at 16 s (never once per frame).
  assert.equal(d.timers.get("stream_silence"), 26_000);
  // 10 s after the last message the stream is asked: a mark, nothing else, and no ending yet.
  assert.equal(finishOf(d.advance(7999)), undefined);
  const asked = d.advance(1);
  assert.equal(finishOf(asked), undefined);
  const [probe] = d.marks(asked);
  assert.ok(probe !== undefined, "a mark asks the quiet stream");
  assert.equal(d.timers.get("stream_silence"), 35_000); // nothing queued: 5 s for the echo
  // Twilio echoes it (a stream that suppresses silence is still alive): the call goes on, and
  // the next question comes 10 s after the echo.
  d.advance(300);
  assert.equal(finishOf(d.mark(probe)), undefined);
  assert.equal(finishOf(d.advance(4700)), undefined);
  assert.equal(d.timers.get("stream_silence"), 40_300);
  const again = d.advance(5300);
  assert.equal(finishOf(again), undefined);
  assert.equal(d.marks(again).length, 1);
  // Then the connection dies without a close: the second mark is never echoed.
  assert.equal(finishOf(d.advance(4999)), undefined);
  const out = d.advance(1);
  const finish = finishOf(out);
  assert.equal(finish?.outcome, "stream_lost");
  assert.equal(finish?.action, "close_stream");
  assert.deepEqual(finish?.close, { code: 1001, reason: "media stream silent" });
  assert.equal(finish?.reason, "No message from Twilio for 15 s, nor the echo of a mark.");
  assert.ok(logs(out).some((m) => /did not answer a mark/.test(m)));
});

Deno.test("STREAM_SILENCE: the mark's echo is awaited after the audio queued before it", () => {
  const d = new CoreDriver({ streamSilenceMs: 2000 });
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_1", 8000); // 8 s of answer, sent at once: Twilio plays it first
  d.advance(2000); // the caller says nothing while it plays, and Twilio sends nothing
  // Asked at 2 s: the echo can only come after the 6 s still queued, then 2 s more.
  assert.equal(d.timers.get("stream_silence"), 2000 + 6000 + 2000);
  assert.equal(finishOf(d.advance(7999)), undefined);
  assert.equal(finishOf(d.advance(1))?.outcome, "stream_lost");
});

Deno.test("STREAM_SILENCE is off unless set: a silent stream is left to the socket's own checks", () => {
  const d = new CoreDriver();
  d.startCall();
  assert.equal(d.timers.has("stream_silence"), false);
  assert.equal(finishOf(d.advance(600_000)), undefined);
});
