/**
 * The offline demo's agent on GPT-Live (`live-desk` of `demo_agents.yaml`),
 * called from the softphone against the demo's GPT-Live stand-in: greeted,
 * echoed, interrupted (the stand-in yields, the bridge clears), a tool through
 * Responses delegation, then ended by `end_call` after a silence. Every event
 * the stand-in sends passes the GPT-Live schema.
 */
import assert from "node:assert/strict";
import type { CallSummary } from "../src/bridge/call_summary.ts";
import { startDemo } from "../src/demo/demo.ts";
import type { LiveWireEvent } from "../src/fake_peers/live_server_session.ts";
import { FakeTwilioCall, softphoneCall } from "./support/fake_twilio.ts";
import { liveServerEventProblem } from "./support/live_schema.ts";
import { waitUntil } from "./support/wait.ts";

const LOUD = 0x20; // speech for the stand-in's VAD
const SILENT = 0xff;

Deno.test("offline demo: a softphone call to the live-desk agent (engine: live) is greeted, echoed, interrupted, served a tool and ended by end_call", async () => {
  const events: LiveWireEvent[] = [];
  const finished: CallSummary[] = [];
  await using demo = startDemo({
    env: { END_CALL_GRACE_SECONDS: "0.2", LOG_LEVEL: "error" },
    liveStandin: { silenceTimeoutMs: 2500, onEvent: (e) => events.push(e) },
    server: { port: 0, hostname: "127.0.0.1", onCallFinished: (s) => finished.push(s) },
  });
  const base = demo.server.localUrl;
  const issued = await (await fetch(`${base}/softphone/token?agent=live-desk`, { method: "POST" }))
    .json();
  const call = await FakeTwilioCall.connect({
    url: `${base.replace("http", "ws")}/media-stream/agent/live-desk`,
    ...softphoneCall(issued),
  });
  try {
    // GPT-Live's track advances with the caller's audio: the greeting plays while it flows.
    const listening = call.speak(1000, SILENT);
    await waitUntil(() => call.receivedAudioBytes() > 0, 3000, "the greeting arrives");
    await listening;
    // Listen until the greeting is over (the bridge sends nothing between replies).
    for (let i = 0, before = -1; i < 20 && call.receivedAudioBytes() !== before; i++) {
      before = call.receivedAudioBytes();
      await call.speak(600, SILENT);
    }
    assert.equal(demo.standin.stats.sessions, 0, "the Realtime stand-in was never called");
    assert.equal(demo.liveStandin.stats.sessions, 1);
    // Turn 1: echoed (a beep, then the caller's words).
    await call.speak(600, LOUD);
    await call.speak(800, SILENT);
    await waitUntil(() => call.playedMs(LOUD) > 0, 4000, "the echo starts playing");
    // The caller talks over the echo: the stand-in yields (its track goes silent). It cannot
    // transcribe, so it reports no words and the bridge does not clear Twilio's queue: what
    // Twilio holds (the reply's lead) plays out, then the echo stops.
    await call.speak(500, LOUD);
    assert.equal(demo.liveStandin.stats.yields, 1);
    const heard = call.playedMs(LOUD);
    await call.speak(300, SILENT); // under the stand-in's 600 ms end of turn
    assert.equal(call.playedMs(LOUD), heard, "the echo stopped: the stand-in yielded");
    assert.equal(call.clearCount, 0, "no words, no barge-in");
    // That was turn 2: the stand-in calls lookup_listing through Responses delegation.
    await call.speak(1500, SILENT);
    await waitUntil(
      () => demo.liveStandin.toolCalls[0]?.output !== undefined,
      4000,
      "the tool output reaches GPT-Live",
    );
    assert.equal(demo.liveStandin.toolCalls[0].name, "lookup_listing");
    assert.deepEqual(demo.listings.lookups, ["L-1001"], "the demo's backend answered");
    // Then silence: end_call, the farewell, the hang-up.
    await call.speak(6000, SILENT);
    await call.closed;
    await waitUntil(() => finished.length === 1, 3000, "the call finishes");
  } finally {
    await call.close();
  }
  const [summary] = finished;
  assert.equal(summary.outcome, "assistant_ended");
  assert.equal(summary.stats.bargeIns, 0, "an empty transcript is no words");
  const callerTurns = summary.conversation.filter((e) => e.kind === "user");
  assert.ok(callerTurns.length >= 2, JSON.stringify(callerTurns));
  for (const turn of callerTurns) {
    // No made-up words: an empty transcript and the turn's length.
    assert.ok(
      turn.kind === "user" && turn.transcript === "" && (turn.speechMs ?? 0) > 0,
      JSON.stringify(turn),
    );
  }
  assert.ok((summary.liveSeconds ?? 0) >= 0, "GPT-Live seconds are counted");
  assert.equal(demo.liveStandin.stats.endCalls, 1);
  const said = summary.conversation.flatMap((e) =>
    e.kind === "assistant" && e.transcript !== undefined ? [e.transcript] : []
  );
  assert.match(said[0], /Thanks for calling Acme Realty/, "the greeting, word for word");
  assert.ok(said.some((t) => /lookup_listing answered:.*Springfield/.test(t)), said.join(" | "));
  const problems = events.flatMap((e) => {
    const problem = liveServerEventProblem(e);
    return problem === undefined ? [] : [`${e.type}: ${problem}`];
  });
  assert.deepEqual(problems, [], "every stand-in event is a valid GPT-Live server event");
  assert.deepEqual(call.protocolErrors, []);
});
