import assert from "node:assert/strict";
import { BridgeHarness } from "./support/bridge_harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("after `stop`, a Twilio still sending gets a clean close, not a reset; OpenAI closes at once", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");

  call.sendStop();
  const t0 = performance.now();
  // Frames already in flight when Twilio sent `stop` keep arriving for a while.
  let sent = 0;
  while (performance.now() - t0 < 300) {
    assert.equal(call.isOpen, true, `the bridge closed the socket after ${sent} frames`);
    call.sendFrames(1);
    sent++;
    await sleep(2);
  }
  await session.closed;
  assert.ok(performance.now() - t0 < 1000, "the OpenAI session does not wait for Twilio");

  // Twilio closes the socket: the close handshake completes.
  const closed = await call.close(1000, "");
  assert.equal(closed.code, 1000, "a clean close (code 0 is a dropped connection)");
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
});

Deno.test("after `stop`, a Twilio that never closes the socket is closed by the bridge after ~2 s", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");

  const t0 = performance.now();
  call.sendStop();
  const closed = await call.closed;
  const elapsed = performance.now() - t0;
  assert.equal(closed.code, 1000);
  assert.equal(closed.reason, "call ended");
  assert.ok(elapsed >= 1900 && elapsed < 4000, `closed ${Math.round(elapsed)} ms after stop`);
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
});
