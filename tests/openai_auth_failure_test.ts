import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { Operations } from "../src/observability/operations.ts";
import {
  classifyUpgradeFailure,
  describeUpgradeFailure,
  type UpgradeFailure,
} from "../src/openai/upgrade_failure.ts";
import { BridgeHarness, TEST_API_KEY } from "./support/bridge_harness.ts";

/** What Deno's native WebSocket reports (error message, close code) for an upgrade answered `status`. */
async function upgradeAnswered(status: number): Promise<{ message: string; code: number }> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      Response.json({
        error: { message: "Incorrect API key provided: sk-…", code: "invalid_api_key" },
      }, { status }),
  );
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/v1/realtime?model=m`, [
      "realtime",
      `openai-insecure-api-key.${TEST_API_KEY}`,
    ]);
    let message = "";
    ws.addEventListener("error", (e) => message = (e as ErrorEvent).message);
    const code = await new Promise<number>((resolve) =>
      ws.addEventListener("close", (e) => resolve(e.code))
    );
    return { message, code };
  } finally {
    await server.shutdown();
  }
}

Deno.test("Deno's WebSocket: a refused upgrade's status is only in the error event, and is classified", async () => {
  const cases: [number, UpgradeFailure][] = [
    [401, { kind: "auth", status: 401 }],
    [403, { kind: "auth", status: 403 }],
    [429, { kind: "http", status: 429 }],
    [503, { kind: "http", status: 503 }],
  ];
  for (const [status, expected] of cases) {
    const seen = await upgradeAnswered(status);
    assert.notEqual(seen.code, 1000, "the close event does not tell the status");
    assert.deepEqual(classifyUpgradeFailure(seen.message), expected, seen.message);
    assert.equal(seen.message.includes(TEST_API_KEY), false);
  }
});

Deno.test("upgrade failures: a refused TCP connection is `network`; other text is unknown", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/realtime`);
  let message = "";
  ws.addEventListener("error", (e) => message = (e as ErrorEvent).message);
  await new Promise((resolve) => ws.addEventListener("close", resolve));
  assert.deepEqual(classifyUpgradeFailure(message), { kind: "network" }, message);
  assert.equal(classifyUpgradeFailure(undefined), undefined);
  assert.equal(classifyUpgradeFailure(""), undefined);
  assert.equal(classifyUpgradeFailure("something else"), undefined);
  assert.deepEqual(classifyUpgradeFailure("Unexpected server response: 403"), {
    kind: "auth",
    status: 403,
  });
  assert.match(describeUpgradeFailure({ kind: "http", status: 429 }), /HTTP 429.*billing/);
  assert.match(describeUpgradeFailure({ kind: "network" }), /OPENAI_REALTIME_URL/);
});

/** Starts the bridge with operations (for /readyz) against a fake that refuses with `status`. */
async function startRefusing(status: number, lines: string[], reconnectSeconds = "1") {
  // The key is deliberately not among the secrets to mask: nothing may log it in the first place.
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [],
    sink: (l) => lines.push(l),
  });
  const env = { REALTIME_RECONNECT_SECONDS: reconnectSeconds };
  const ops = await Operations.create({
    config: parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env }),
    store: null,
  });
  const h = await BridgeHarness.start(env, {
    app: ops.appOptions(),
    realtime: { mode: "refuse_http", refuseStatus: status },
  });
  return { ops, h };
}

for (const status of [401, 403]) {
  Deno.test(`OpenAI answering the upgrade with ${status}: the log names the rejected key, /readyz reports it`, async () => {
    const lines: string[] = [];
    try {
      // A 5 s reconnect window: an outage would be retried that long, a rejected key is not.
      const { ops, h } = await startRefusing(status, lines, "5");
      await using _ops = ops;
      await using _h = h;
      const ready = await fetch(`${h.server.localUrl}/readyz`);
      assert.equal(await ready.text(), "ready\n");

      const t0 = performance.now();
      const call = await h.call();
      assert.equal((await call.closed).code, 1011, "the stream ends so Twilio plays the apology");
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < 1500, `the apology came ${Math.round(elapsed)} ms after the call began`);
      assert.equal(h.realtime.refused.length, 1, "a rejected key is not retried");
      const [summary] = await h.waitForFinished(1);
      assert.equal(summary.outcome, "openai_error");

      const notReady = await fetch(`${h.server.localUrl}/readyz`);
      assert.equal(notReady.status, 503, "one rejected key is enough");
      assert.equal(
        await notReady.text(),
        `not ready: OpenAI rejected the API key (HTTP ${status}); check OPENAI_API_KEY\n`,
      );
    } finally {
      await disposeLogging();
    }
    const rejected = lines.map((l) => JSON.parse(l)).filter((r) =>
      r.message === `OpenAI rejected the API key (HTTP ${status}); check OPENAI_API_KEY`
    );
    assert.equal(rejected.length, 1, lines.join("\n"));
    assert.equal(rejected[0].level, "error");
    assert.equal(rejected[0].status, status);
    assert.equal(lines.join("\n").includes(TEST_API_KEY), false, "the key is never logged");
  });
}

Deno.test("OpenAI answering the upgrade with 503 is an outage, not a key problem: ready after one failure", async () => {
  const lines: string[] = [];
  try {
    // No reconnects: exactly one attempt.
    const { ops, h } = await startRefusing(503, lines, "0");
    await using _ops = ops;
    await using _h = h;
    const call = await h.call();
    assert.equal((await call.closed).code, 1011);
    await h.waitForFinished(1);
    assert.equal(h.realtime.refused.length, 1);
    const ready = await fetch(`${h.server.localUrl}/readyz`);
    assert.equal(await ready.text(), "ready\n", "one failed attempt is not an outage yet");
  } finally {
    await disposeLogging();
  }
  assert.equal(lines.some((l) => l.includes("rejected the API key")), false);
  assert.ok(
    lines.some((l) => l.includes("OpenAI refused the Realtime connection (HTTP 503)")),
    "the status is logged instead of code=0",
  );
});
