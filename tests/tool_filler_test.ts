/** The filler during slow tools: when it is due, once per wait, and a valid GA event. */
import assert from "node:assert/strict";
import { FillerPlanner, fillerResponseEvent } from "../src/agents/tool_filler.ts";
import { validateClientEvent } from "./support/realtime_schema.ts";

Deno.test("a batch of tools gets one filler after a second of silence", () => {
  const planner = new FillerPlanner();
  planner.toolStarted("a", undefined, 100);
  assert.equal(planner.nextAt(), undefined, "no filler text: the model speaks for itself");
  planner.toolStarted("b", "Let me check.", 300);
  assert.equal(planner.nextAt(), 1100, "the wait started with the first tool");
  assert.equal(planner.due(1100), "Let me check.");
  planner.toolFinished("a");
  assert.equal(planner.due(5000), undefined);
  planner.toolFinished("b");
  planner.toolStarted("c", "Let me check.", 6000);
  assert.equal(planner.due(7000), "Let me check.", "a new wait, a new filler");
});

Deno.test("the model's own preamble after the tool started: no filler", () => {
  const planner = new FillerPlanner({ delayMs: 1000 });
  planner.toolStarted("a", "One moment.", 0);
  planner.assistantSpoke(400);
  assert.equal(planner.nextAt(), undefined);
  assert.equal(planner.due(3000), undefined);
  planner.assistantSpoke(0);
  planner.toolFinished("a");
  planner.assistantSpoke(100);
  assert.equal(planner.nextAt(), undefined);
});

Deno.test("the filler event is a valid GA response.create, out of band", () => {
  const event = fillerResponseEvent('One moment, I\'ll "check".');
  assert.deepEqual(validateClientEvent(event), []);
  assert.equal(event.response.conversation, "none");
  assert.match(
    event.response.instructions,
    /^Say exactly this, and nothing else: "One moment, I'll 'check'\."$/,
  );
});

Deno.test("Responses.interject: only while tools run and nothing is in flight; the answer waits; a lost race is not retried", async () => {
  const { Responses } = await import("../src/core/responses.ts");
  const responses = new Responses();
  assert.equal(responses.interject({ instructions: "filler" }), undefined, "no tool running");
  responses.created("resp_1");
  responses.toolStarted("call_1");
  assert.equal(responses.interject({ instructions: "filler" }), undefined, "a response is active");
  responses.done("resp_1");
  assert.deepEqual(responses.interject({ instructions: "filler" }), {
    type: "response.create",
    response: { instructions: "filler" },
  });
  responses.toolFinished("call_1");
  responses.request({});
  assert.equal(responses.next(), undefined, "the answer waits for the filler");
  responses.created("resp_filler");
  responses.done("resp_filler");
  assert.deepEqual(responses.next(), { type: "response.create" });
  // A filler refused because the server started a response itself: not said late.
  responses.created("resp_2");
  responses.done("resp_2");
  responses.toolStarted("call_2");
  assert.ok(responses.interject({ instructions: "filler" }));
  responses.conflict();
  assert.equal(responses.inFlight, false);
  responses.toolFinished("call_2");
  assert.equal(responses.next(), undefined, "nothing pending: the filler is dropped");
});
