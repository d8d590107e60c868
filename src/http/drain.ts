/**
 * Graceful drain for rolling deploys: stop taking calls, let the calls in
 * progress go on for a while, then end the rest politely.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { App } from "./app.ts";
import type { CallRunner } from "../bridge/call_runner.ts";

/** Options of {@link drainApp}. */
export interface DrainOptions {
  /** Ms calls in progress may go on before the assistant says goodbye. */
  drainMs: number;
  /** Ms the goodbyes may take before the remaining calls are hung up. Default 8000. */
  farewellMs?: number;
  /** Ms to wait for sockets to close after the hang-ups. Default 2000. */
  closeMs?: number;
  /** Logger for progress lines. */
  logger?: Logger;
  /**
   * `handover`: close each call's stream at its next turn boundary (at once
   * when `drainMs` is over) so another instance resumes it; `goodbye`
   * (default): let calls go on for `drainMs`, then say goodbye and hang up.
   */
  mode?: "handover" | "goodbye";
}

/** How a drain went. */
export interface DrainResult {
  /** Calls in progress when the drain began. */
  activeAtStart: number;
  /** Calls that ended on their own within the drain time. */
  endedOnTheirOwn: number;
  /** Calls the assistant said goodbye to. */
  saidGoodbye: number;
  /** Calls still open after the goodbyes, hung up at once. */
  hungUp: number;
  /** Calls handed over to another instance (`mode: "handover"`). */
  handedOver?: number;
}

function waitForCalls(app: App, ms: number): Promise<boolean> {
  if (app.calls.size === 0) return Promise.resolve(true);
  const calls = [...app.calls].map((call) => call.done);
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    Promise.all(calls).then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Waits up to `ms` for the calls to end, then does `force` to each call
 * still in progress; how many there were.
 */
async function forceAfter(
  app: App,
  ms: number,
  force: (call: CallRunner) => void,
): Promise<number> {
  await waitForCalls(app, ms);
  const left = [...app.calls];
  for (const call of left) force(call);
  return left.length;
}

/**
 * Drains `app`: stops accepting calls (`/readyz` fails), waits up to
 * `drainMs` for calls to end, asks the remaining ones to say goodbye and hang
 * up, waits up to `farewellMs`, then hangs up whatever is left.
 *
 * @example
 * ```ts ignore
 * import { drainApp } from "./drain.ts";
 * await drainApp(server.app, { drainMs: 30_000 });
 * await server.shutdown();
 * ```
 */
export async function drainApp(app: App, options: DrainOptions): Promise<DrainResult> {
  if (options.mode === "handover") return await handOverCalls(app, options);
  app.stopAccepting();
  const activeAtStart = app.calls.size;
  options.logger?.info("Draining: no new calls; {calls} call(s) in progress may go on {ms} ms.", {
    calls: activeAtStart,
    ms: options.drainMs,
  });
  const remaining = await forceAfter(app, options.drainMs, (call) => call.drain());
  if (remaining > 0) {
    options.logger?.info("Drain time is over; the assistant says goodbye on {calls} call(s).", {
      calls: remaining,
    });
  }
  const left = await forceAfter(
    app,
    options.farewellMs ?? 8000,
    (call) => call.drain({ immediate: true }),
  );
  if (left > 0) {
    options.logger?.warn("Hung up {calls} call(s) whose goodbye did not finish in time.", {
      calls: left,
    });
  }
  await waitForCalls(app, options.closeMs ?? 2000);
  return {
    activeAtStart,
    endedOnTheirOwn: activeAtStart - remaining,
    saidGoodbye: remaining - left,
    hungUp: left,
  };
}

/**
 * Drains `app` by handing its calls over: stops accepting calls, asks every
 * call to close its stream at its next turn boundary (Twilio then asks
 * another instance, which resumes it from its checkpoint), and closes the
 * streams still open at once when `drainMs` is over.
 */
async function handOverCalls(app: App, options: DrainOptions): Promise<DrainResult> {
  app.stopAccepting();
  const calls = [...app.calls];
  options.logger?.info(
    "Draining: no new calls; handing {calls} call(s) over at their next turn boundary.",
    { calls: calls.length },
  );
  const outcomes: string[] = [];
  for (const call of calls) {
    call.done.then((summary) => outcomes.push(summary.outcome));
    call.handOver();
  }
  const late = await forceAfter(app, options.drainMs, (call) => call.handOver({ immediate: true }));
  if (late > 0) {
    options.logger?.info("Drain time is over; handing {calls} call(s) over at once.", {
      calls: late,
    });
  }
  await waitForCalls(app, options.closeMs ?? 2000);
  const handedOver = outcomes.filter((outcome) => outcome === "handed_over").length;
  return {
    activeAtStart: calls.length,
    endedOnTheirOwn: outcomes.length - handedOver,
    saidGoodbye: 0,
    hungUp: 0,
    handedOver,
  };
}
