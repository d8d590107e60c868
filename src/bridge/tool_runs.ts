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
  /**
   * Hears a failed tool with the kind of failure (an error output's `type`,
   * e.g. `timeout`, `http_error 503`, `unreachable`; or `failed`,
   * `timed_out`, `unknown_tool`, `bad_arguments_json`): safe to log, it never
   * holds the arguments, the output or a thrown error's message.
   */
  onFailure: (tool: string, kind: string) => void;
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
  /**
   * The output is an error object (`{error: …}`: the tool's own, e.g. an
   * HTTP tool whose backend is down, or the bridge's for a failure, timeout,
   * bad arguments or unknown tool).
   */
  failed: boolean;
  /** When failed: the kind of failure, as given to `onFailure`. */
  failure?: string;
}

/**
 * The kind of failure of a tool's output, or undefined when it is not an
 * error object: `{error: {type: "http_error", status: 503}}` → `http_error 503`.
 */
function failureOf(output: unknown): string | undefined {
  if (typeof output !== "object" || output === null || !("error" in output)) return undefined;
  const error = (output as { error: unknown }).error;
  if (typeof error !== "object" || error === null) return "failed";
  const { type, status } = error as { type?: unknown; status?: unknown };
  const kind = typeof type === "string" && /^[a-z_]{1,40}$/.test(type) ? type : "failed";
  return typeof status === "number" ? `${kind} ${status}` : kind;
}

/** The reason a tool call is aborted when it runs past its time. */
class ToolTimedOut extends Error {
  override name = "ToolTimedOut";
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
    let failure: string | undefined;
    const controller = new AbortController();
    this.#aborts.set(callId, controller);
    const timer = setTimeout(
      () => controller.abort(new ToolTimedOut()),
      this.#o.timeoutMs,
    );
    (async () => {
      let parsed: Record<string, unknown> = {};
      try {
        const value = JSON.parse(args);
        if (typeof value === "object" && value !== null) parsed = value;
      } catch {
        failure = "bad_arguments_json";
        return { error: "The tool arguments were not valid JSON." };
      }
      if (tool === undefined) {
        failure = "unknown_tool";
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
      (output) => {
        failure ??= failureOf(output);
        return output;
      },
      (error) => {
        failure = error instanceof ToolTimedOut ? "timed_out" : "failed";
        return { error: "The tool failed. Tell the caller you could not do it right now." };
      },
    ).then((output) => {
      clearTimeout(timer);
      if (this.#aborts.get(callId) !== controller) return; // aborted: the call is over
      this.#aborts.delete(callId);
      if (failure !== undefined) this.#o.onFailure(name, failure);
      this.#o.deliver(callId, output, {
        name,
        durationMs: now() - started,
        failed: failure !== undefined,
        ...(failure !== undefined ? { failure } : {}),
      });
    });
  }

  /** The call ended: every tool still running is aborted. */
  abortAll(): void {
    for (const controller of this.#aborts.values()) controller.abort(new Error("call ended"));
    this.#aborts.clear();
  }
}
