/**
 * Graceful drain for rolling deploys: stop taking calls, let the calls in
 * progress go on for a while, then end the rest politely.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { App } from "./app.ts";

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
  app.stopAccepting();
  const activeAtStart = app.calls.size;
  options.logger?.info("Draining: no new calls; {calls} call(s) in progress may go on {ms} ms.", {
    calls: activeAtStart,
    ms: options.drainMs,
  });
  await waitForCalls(app, options.drainMs);
  const remaining = [...app.calls];
  for (const call of remaining) call.drain();
  if (remaining.length > 0) {
    options.logger?.info("Drain time is over; the assistant says goodbye on {calls} call(s).", {
      calls: remaining.length,
    });
  }
  await waitForCalls(app, options.farewellMs ?? 8000);
  const left = [...app.calls];
  for (const call of left) call.drain({ immediate: true });
  if (left.length > 0) {
    options.logger?.warn("Hung up {calls} call(s) whose goodbye did not finish in time.", {
      calls: left.length,
    });
  }
  await waitForCalls(app, options.closeMs ?? 2000);
  return {
    activeAtStart,
    endedOnTheirOwn: activeAtStart - remaining.length,
    saidGoodbye: remaining.length - left.length,
    hungUp: left.length,
  };
}
