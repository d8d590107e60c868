/**
 * Custom tools of one call, run off the audio path: each call of the model
 * runs at once (several of one response in parallel), with its own timeout,
 * and its output — or a structured error the model can talk about — is
 * delivered back to the call core. Everything still running is aborted when
 * the call ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ToolRuns } from "./tool_runs.ts";
 * const outputs: unknown[] = [];
 * const runs = new ToolRuns({
 *   tools: [{
 *     declaration: { type: "function", name: "add", description: "Adds.", parameters: {} },
 *     handler: (args) => ({ sum: Number(args.a) + Number(args.b) }),
 *   }],
 *   timeoutMs: 1000,
 *   callSid: () => "CA1",
 *   onFailure: () => {},
 *   deliver: (_callId, output) => outputs.push(output),
 * });
 * runs.run("call_1", "add", '{"a":2,"b":3}');
 * await new Promise((resolve) => setTimeout(resolve, 10));
 * assert.deepEqual(outputs, [{ sum: 5 }]);
 * ```
 *
 * @module
 */
import type { ToolDefinition } from "../tools/tool_registry.ts";

/** Dependencies of {@link ToolRuns}. */
export interface ToolRunsOptions {
  /** The tools the model may call. */
  tools: readonly ToolDefinition[];
  /** Ms one tool call may run. */
  timeoutMs: number;
  /** The call's CallSid, passed to handlers. */
  callSid: () => string;
  /** Hears a failed tool (logged by the runner; never the arguments). */
  onFailure: (tool: string, error: string) => void;
  /**
   * Receives each call's output (a result or an error object), with the
   * tool's name, how long it ran and whether it failed.
   */
  deliver: (callId: string, output: unknown, run: ToolRunReport) => void;
  /** Monotonic clock in ms for the durations. Default `performance.now`. */
  now?: () => number;
}

/** How one tool call went (for the live view; never logged). */
export interface ToolRunReport {
  /** The tool the model called. */
  name: string;
  /** Ms from starting the tool to its output. */
  durationMs: number;
  /** The output is the bridge's error object (failure, timeout, bad arguments, unknown tool). */
  failed: boolean;
}

/** The running tool calls of one call. */
export class ToolRuns {
  #o: ToolRunsOptions;
  #aborts = new Map<string, AbortController>();

  /** Creates the tool runner of a call. */
  constructor(options: ToolRunsOptions) {
    this.#o = options;
  }

  /** Runs tool `name` for the model's call `callId` with JSON `args`. */
  run(callId: string, name: string, args: string): void {
    const tool = this.#o.tools.find((t) => t.declaration.name === name);
    const now = this.#o.now ?? (() => performance.now());
    const started = now();
    let failed = false;
    const controller = new AbortController();
    this.#aborts.set(callId, controller);
    const timer = setTimeout(
      () => controller.abort(new Error("tool timed out")),
      this.#o.timeoutMs,
    );
    (async () => {
      let parsed: Record<string, unknown> = {};
      try {
        const value = JSON.parse(args);
        if (typeof value === "object" && value !== null) parsed = value;
      } catch {
        failed = true;
        return { error: "The tool arguments were not valid JSON." };
      }
      if (tool === undefined) {
        failed = true;
        return { error: `Unknown tool "${name}".` };
      }
      const result = tool.handler(parsed, {
        callSid: this.#o.callSid(),
        signal: controller.signal,
      });
      return await Promise.race([
        Promise.resolve(result),
        new Promise((_, reject) =>
          controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
            once: true,
          })
        ),
      ]);
    })().then(
      (output) => output,
      (error) => {
        failed = true;
        this.#o.onFailure(name, error instanceof Error ? error.message : String(error));
        return { error: "The tool failed. Tell the caller you could not do it right now." };
      },
    ).then((output) => {
      clearTimeout(timer);
      if (this.#aborts.get(callId) !== controller) return; // aborted: the call is over
      this.#aborts.delete(callId);
      this.#o.deliver(callId, output, { name, durationMs: now() - started, failed });
    });
  }

  /** The call ended: every tool still running is aborted. */
  abortAll(): void {
    for (const controller of this.#aborts.values()) controller.abort(new Error("call ended"));
    this.#aborts.clear();
  }
}
