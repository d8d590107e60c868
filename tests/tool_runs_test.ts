import assert from "node:assert/strict";
import { type ToolRunReport, ToolRuns } from "../src/bridge/tool_runs.ts";
import type { ToolDefinition } from "../src/tools/tool_registry.ts";

function lookup(handler: ToolDefinition["handler"]): ToolDefinition {
  return {
    declaration: { type: "function", name: "lookup", description: "Looks up.", parameters: {} },
    handler,
  };
}

function runs(tools: ToolDefinition[], clock: { t: number }, timeoutMs = 1000) {
  const delivered: { callId: string; output: unknown; run: ToolRunReport }[] = [];
  const runner = new ToolRuns({
    tools,
    timeoutMs,
    callSid: () => "CA1",
    onFailure: () => {},
    deliver: (callId, output, run) => delivered.push({ callId, output, run }),
    now: () => clock.t,
  });
  return { runner, delivered };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

Deno.test("a tool's output is delivered with its name and how long it ran", async () => {
  const clock = { t: 1000 };
  const { runner, delivered } = runs([lookup(async () => {
    clock.t += 230;
    await Promise.resolve();
    return { beds: 2 };
  })], clock);
  runner.run("call_1", "lookup", '{"id":"A1"}');
  await settle();
  assert.deepEqual(delivered, [{
    callId: "call_1",
    output: { beds: 2 },
    run: { name: "lookup", durationMs: 230, failed: false },
  }]);
});

Deno.test("failures, bad arguments and unknown tools are reported as failed", async () => {
  const clock = { t: 0 };
  const { runner, delivered } = runs([lookup(() => {
    throw new Error("backend down");
  })], clock);
  runner.run("call_1", "lookup", "{}");
  runner.run("call_2", "lookup", "not json");
  runner.run("call_3", "nope", "{}");
  await settle();
  assert.deepEqual(
    delivered.map((d) => [d.callId, d.run.name, d.run.failed]),
    [["call_1", "lookup", true], ["call_2", "lookup", true], ["call_3", "nope", true]],
  );
  assert.match(JSON.stringify(delivered[0].output), /could not do it right now/);
});

Deno.test("a tool's own error output counts as failed, with its kind; onFailure hears the kind, never a message", async () => {
  const clock = { t: 0 };
  const heard: Array<[string, string]> = [];
  const delivered: Array<ToolRunReport & { callId: string }> = [];
  const runner = new ToolRuns({
    tools: [
      lookup((args) =>
        args.down
          ? { error: { type: "http_error", message: "failed", status: 503 } }
          : args.throw
          ? Promise.reject(new Error("secret-in-message key=abc args=+14155550100"))
          : { ok: true }
      ),
    ],
    timeoutMs: 1000,
    callSid: () => "CA1",
    onFailure: (tool, kind) => heard.push([tool, kind]),
    deliver: (callId, _output, run) => delivered.push({ callId, ...run }),
    now: () => clock.t,
  });
  runner.run("c1", "lookup", '{"down":true}');
  runner.run("c2", "lookup", '{"throw":true}');
  runner.run("c3", "lookup", "{}");
  runner.run("c4", "nope", "{}");
  await settle();
  delivered.sort((a, b) => a.callId.localeCompare(b.callId));
  assert.deepEqual(delivered.map((r) => [r.callId, r.failed, r.failure]), [
    ["c1", true, "http_error 503"],
    ["c2", true, "failed"],
    ["c3", false, undefined],
    ["c4", true, "unknown_tool"],
  ]);
  assert.deepEqual(heard.sort(), [
    ["lookup", "failed"],
    ["lookup", "http_error 503"],
    ["nope", "unknown_tool"],
  ]);
});
