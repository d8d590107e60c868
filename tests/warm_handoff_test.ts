/**
 * The call core's side of a warm transfer, without sockets: the tool call
 * is answered at once, the briefing is an out-of-band text response that
 * never touches the caller's responses, the person's call is asked for with
 * the briefing (or the reason when the briefing is late), the fallback line
 * comes when nobody takes the call, and `stop` after an accept is the
 * hand-over.
 */
import assert from "node:assert/strict";
import { CoreDriver } from "./support/core_driver.ts";
import { BRIEFING_WAIT_MS } from "../src/core/warm_handoff.ts";
import { DEFAULT_TRANSFER_FALLBACK } from "../src/prompts/mod.ts";
import type { CallCommand } from "../src/core/call_types.ts";

function warmDriver() {
  const d = new CoreDriver({ transferEnabled: true, transferMode: "warm" });
  d.startCall();
  d.responseCreated("resp_1");
  return d;
}

function placed(commands: CallCommand[]) {
  return commands.filter((c) => c.type === "place_transfer");
}

Deno.test("warm transfer tool: answered at once, the briefing goes out of band in parallel, the hold line waits for the tool's response", () => {
  const d = warmDriver();
  const call = d.functionCall("resp_1", "call_w", "transfer_call", '{"reason":"billing"}');
  const sent = d.sentToOpenAI(call);
  assert.deepEqual(sent[0], {
    type: "conversation.item.create",
    item: {
      type: "function_call_output",
      call_id: "call_w",
      output: '{"ok":true,"status":"calling a person; stay with the caller"}',
    },
  });
  // The briefing goes now, alongside the active response, as text outside the conversation.
  const briefing = sent.find((e) => e.type === "response.create")!;
  assert.deepEqual(
    { ...(briefing.response as Record<string, unknown>), instructions: "…" },
    {
      instructions: "…",
      tool_choice: "none",
      metadata: { purpose: "transfer_briefing" },
      conversation: "none",
      output_modalities: ["text"],
    },
  );
  assert.equal(d.core.ending.stage, "idle", "a warm transfer does not end the call");
  // The briefing's own events never count as the caller's response.
  d.input({
    type: "openai_event",
    event: { type: "response.created", responseId: "resp_brief", purpose: "transfer_briefing" },
  });
  const afterTool = d.sentToOpenAI(d.responseDone("resp_1"));
  assert.match(
    String((afterTool[0].response as { instructions: string }).instructions),
    /stay on the line/,
  );
  const done = d.input({
    type: "openai_event",
    event: {
      type: "response.done",
      responseId: "resp_brief",
      status: "completed",
      errorCode: undefined,
      usage: undefined,
      purpose: "transfer_briefing",
      text: "Ada has a billing question about invoice 7.",
    },
  });
  assert.deepEqual(placed(done), [{
    type: "place_transfer",
    briefing: "Ada has a billing question about invoice 7.",
  }]);
});

Deno.test("warm transfer: a late briefing is replaced by the tool's reason after 1.2 s; nobody takes it → the fallback line, the call goes on", () => {
  const d = warmDriver();
  d.functionCall("resp_1", "call_w", "transfer_call", '{"reason":"billing"}');
  d.responseDone("resp_1");
  d.responseCreated("resp_hold");
  d.responseDone("resp_hold");
  assert.deepEqual(placed(d.advance(BRIEFING_WAIT_MS - 1)), []);
  assert.deepEqual(placed(d.advance(1)), [{
    type: "place_transfer",
    briefing: "A caller needs a person: billing",
  }]);
  // A second transfer call meanwhile is refused: one person is being called already.
  d.responseCreated("resp_2");
  const again = d.sentToOpenAI(d.functionCall("resp_2", "call_x", "transfer_call", "{}"));
  assert.match(String((again[0].item as { output: string }).output), /already being called/);
  d.responseDone("resp_2");
  d.responseCreated("resp_3");
  d.responseDone("resp_3");
  const fallback = d.sentToOpenAI(d.input({ type: "transfer_result", result: "failed" }));
  assert.deepEqual(fallback, [{
    type: "response.create",
    response: { instructions: DEFAULT_TRANSFER_FALLBACK },
  }]);
  assert.equal(d.core.finished, false);
  d.stop();
  const finish = d.commands.find((c) => c.type === "finish") as { outcome: string };
  assert.equal(
    finish.outcome,
    "caller_hung_up",
    "without an accept, stop is the caller hanging up",
  );
});

Deno.test("warm transfer: after the accept, Twilio's stop (or the socket closing) is the hand-over, not a hang-up", () => {
  for (const end of ["stop", "closed"] as const) {
    const d = warmDriver();
    d.functionCall("resp_1", "call_w", "transfer_call", "{}");
    d.advance(BRIEFING_WAIT_MS);
    d.input({ type: "transfer_result", result: "accepted" });
    if (end === "stop") d.stop();
    else d.twilioClosed(1000);
    const finish = d.commands.find((c) => c.type === "finish");
    assert.deepEqual(finish, {
      type: "finish",
      outcome: "transferred",
      reason: "A person accepted the warm transfer; the caller was moved to them.",
      action: "none",
    });
  }
});

Deno.test("warm transfer: moving the caller failed after the accept → the fallback line", () => {
  const d = warmDriver();
  d.functionCall("resp_1", "call_w", "transfer_call", "{}");
  d.responseDone("resp_1");
  d.responseCreated("resp_hold");
  d.responseDone("resp_hold");
  d.advance(BRIEFING_WAIT_MS);
  d.input({ type: "transfer_result", result: "accepted" });
  const sent = d.sentToOpenAI(d.input({ type: "transfer_result", result: "failed" }));
  assert.equal(
    (sent[0].response as { instructions: string }).instructions,
    DEFAULT_TRANSFER_FALLBACK,
  );
  d.stop();
  assert.equal(
    (d.commands.find((c) => c.type === "finish") as { outcome: string }).outcome,
    "caller_hung_up",
  );
});

Deno.test("a cold transfer's way back: a stream with transferFallback opens with the fallback line instead of the greeting", () => {
  const d = new CoreDriver({ greeting: "Hi, Acme here." });
  d.begin();
  d.connected();
  d.start({ customParameters: { transferFallback: "1" } });
  const [greeting] = d.sentToOpenAI(d.openaiOpen()).filter((e) => e.type === "response.create");
  assert.equal(
    (greeting.response as { instructions: string }).instructions,
    DEFAULT_TRANSFER_FALLBACK,
  );
});
