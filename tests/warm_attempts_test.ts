/**
 * The legs of a warm transfer, sans-IO: each of Twilio's answers about the
 * person's leg, in each phase, and what the transfer does next.
 */
import assert from "node:assert/strict";
import { WarmAttempts } from "../src/transfer/warm_attempts.ts";
import { TransferTokens } from "../src/transfer/transfer_token.ts";

function attempts(destinations = ["+15005550101", "sip:desk@pbx.example.com"]) {
  let now = 0;
  const a = new WarmAttempts(destinations, () => now);
  return { a, at: (ms: number) => now = ms };
}

Deno.test("each failure of a leg tries the next destination; after the last one the transfer failed", () => {
  for (
    const [status, result] of [
      ["busy", "busy"],
      ["no-answer", "no-answer"],
      ["failed", "failed"],
      ["canceled", "canceled"],
    ] as const
  ) {
    const { a } = attempts();
    a.start();
    a.placed(0, "CA1");
    assert.deepEqual(a.status(0, status), [{ do: "place", leg: 1 }]);
    a.placed(1, "CA2");
    assert.deepEqual(a.status(1, status), [{ do: "failed" }]);
    assert.equal(a.phase, "failed");
    assert.deepEqual(a.timeline().map((l) => l.result), [result, result]);
  }
});

Deno.test("answered: a 2 or no key declines, hanging up before a key counts as hung_up, 1 accepts", () => {
  const { a, at } = attempts(["+15005550101", "+15005550102", "+15005550103"]);
  a.start();
  a.placed(0, "CA1");
  at(100);
  a.status(0, "ringing");
  at(2100);
  a.status(0, "in-progress");
  assert.equal(a.isBriefing(0), true);
  assert.deepEqual(a.digits(0, "2"), [{ do: "place", leg: 1 }]);
  a.placed(1, "CA2");
  a.answered(1); // Twilio fetched the briefing before the answered callback
  assert.deepEqual(a.status(1, "completed"), [{ do: "place", leg: 2 }]);
  a.placed(2, "CA3");
  a.answered(2);
  assert.deepEqual(a.digits(1, "1"), [], "a late key of an earlier leg is ignored");
  at(5000);
  assert.deepEqual(a.digits(2, "1"), [{ do: "accept", leg: 2 }]);
  assert.equal(a.phase, "accepted");
  assert.deepEqual(a.callerGone(), [], "nothing to end once accepted");
  const timeline = a.timeline();
  assert.deepEqual(timeline.map((l) => l.result), ["declined", "hung_up", "accepted"]);
  assert.equal(timeline[0].rangMs, 2000);
  assert.equal(timeline[2].acceptedAtMs, 5000);
  assert.equal(timeline[0].destination, "+15•••••••01");
});

Deno.test("no key is a decline; a machine ends its leg through REST; a ring timeout cancels its leg", () => {
  const { a } = attempts(["+15005550101", "+15005550102", "sip:desk@pbx.example.com"]);
  a.start();
  a.placed(0, "CA1");
  a.answered(0);
  assert.deepEqual(a.digits(0, undefined), [{ do: "place", leg: 1 }]);
  a.placed(1, "CA2");
  a.answered(1);
  assert.deepEqual(a.answeredBy(1, "human"), []);
  assert.deepEqual(a.answeredBy(1, "machine_start"), [
    { do: "end_leg", callSid: "CA2", status: "completed" },
    { do: "place", leg: 2 },
  ]);
  a.placed(2, "CA3");
  a.status(2, "ringing");
  assert.deepEqual(a.ringTimeout(2), [
    { do: "end_leg", callSid: "CA3", status: "canceled" },
    { do: "failed" },
  ]);
  assert.deepEqual(a.timeline().map((l) => [l.result, l.destination]), [
    ["no_key", "+15•••••••01"],
    ["machine", "+15•••••••02"],
    ["no-answer", "sip:…@pbx.example.com"],
  ]);
});

Deno.test("the caller hangs up: a ringing leg is canceled, an answered one completed, one still being placed is canceled once placed", () => {
  {
    const { a } = attempts();
    a.start();
    a.placed(0, "CA1");
    a.status(0, "ringing");
    assert.deepEqual(a.callerGone(), [{ do: "end_leg", callSid: "CA1", status: "canceled" }]);
    assert.deepEqual(a.status(0, "canceled"), [], "Twilio's callback after that changes nothing");
  }
  {
    const { a } = attempts();
    a.start();
    a.placed(0, "CA1");
    a.answered(0);
    assert.deepEqual(a.callerGone(), [{ do: "end_leg", callSid: "CA1", status: "completed" }]);
    assert.deepEqual(a.digits(0, "1"), [], "a key after that is not an accept");
  }
  {
    const { a } = attempts();
    a.start();
    assert.deepEqual(a.callerGone(), []);
    assert.deepEqual(a.placed(0, "CA1"), [{ do: "end_leg", callSid: "CA1", status: "canceled" }]);
    assert.equal(a.phase, "canceled");
  }
});

Deno.test("a leg Twilio refused to place counts as failed", () => {
  const { a } = attempts();
  a.start();
  assert.deepEqual(a.placeFailed(0), [{ do: "place", leg: 1 }]);
  assert.deepEqual(a.placeFailed(1), [{ do: "failed" }]);
  assert.deepEqual(a.timeline().map((l) => l.result), ["not_placed", "not_placed"]);
});

Deno.test("transfer tokens: bound to their transfer and leg, and a cold one to its call and agent", () => {
  const tokens = new TransferTokens("secret-one");
  const warm = tokens.warm("abcdefgh", 2);
  assert.deepEqual(tokens.openWarm(warm), { id: "abcdefgh", leg: 2 });
  assert.equal(new TransferTokens("secret-two").openWarm(warm), undefined, "another secret");
  assert.equal(tokens.openWarm(null), undefined);
  const cold = tokens.cold("CA1", "front desk", 1);
  assert.ok(!cold.includes("front"), "the agent's name is encoded");
  assert.deepEqual(tokens.openCold(cold, "CA1"), { agent: "front desk", index: 1 });
  assert.equal(tokens.openCold(cold.replace("c1.1.", "c1.0."), "CA1"), undefined);
  assert.deepEqual(tokens.openCold(tokens.cold("CA1", undefined, 0), "CA1"), {
    agent: undefined,
    index: 0,
  });
});
