import assert from "node:assert/strict";
import { REPEAT_WINDOW_MS, StopSignals } from "../src/http/stop_signals.ts";

Deno.test("stop signals: the first one drains, deno task's forwarded copy is ignored", () => {
  const signals = new StopSignals();
  assert.equal(signals.stopping, false);
  assert.equal(signals.receive("SIGTERM", 1000), "drain");
  assert.equal(signals.stopping, true);
  assert.equal(signals.receive("SIGTERM", 1016), "ignore");
});

Deno.test("stop signals: a third signal exits, even within the window", () => {
  const signals = new StopSignals();
  assert.equal(signals.receive("SIGINT", 0), "drain");
  assert.equal(signals.receive("SIGINT", 10), "ignore");
  assert.equal(signals.receive("SIGINT", 20), "exit");
});

Deno.test("stop signals: the same signal after the window exits", () => {
  const signals = new StopSignals();
  assert.equal(signals.receive("SIGTERM", 0), "drain");
  assert.equal(signals.receive("SIGTERM", REPEAT_WINDOW_MS), "ignore", "the window's edge counts");
  const late = new StopSignals();
  late.receive("SIGTERM", 0);
  assert.equal(late.receive("SIGTERM", REPEAT_WINDOW_MS + 1), "exit");
});

Deno.test("stop signals: a different signal is not a copy and exits", () => {
  const signals = new StopSignals();
  assert.equal(signals.receive("SIGTERM", 0), "drain");
  assert.equal(signals.receive("SIGINT", 5), "exit");
});

Deno.test("stop signals: the window is configurable", () => {
  const signals = new StopSignals({ windowMs: 100 });
  signals.receive("SIGINT", 0);
  assert.equal(signals.receive("SIGINT", 101), "exit");
});
