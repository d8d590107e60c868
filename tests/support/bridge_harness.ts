/**
 * Starts the real bridge server on port 0 against a fake Realtime server, for
 * end-to-end tests over real sockets.
 *
 * @module
 */
import { parseConfig } from "../../src/config.ts";
import type { CallSummary } from "../../src/bridge/call_runner.ts";
import { type RunningServer, startServer, type StartServerOptions } from "../../src/server.ts";
import { FakeRealtimeServer, type FakeRealtimeServerOptions } from "./fake_realtime.ts";
import { FakeTwilioCall, type FakeTwilioCallOptions } from "./fake_twilio.ts";

/** The API key used by end-to-end tests (must never show up in logs). */
export const TEST_API_KEY = "sk-test-e2e-0123456789abcdefghijklmnop";

/** A bridge plus a fake OpenAI, torn down together. */
export class BridgeHarness implements AsyncDisposable {
  readonly realtime: FakeRealtimeServer;
  readonly server: RunningServer;
  readonly finished: CallSummary[];
  readonly calls: FakeTwilioCall[] = [];

  private constructor(
    realtime: FakeRealtimeServer,
    server: RunningServer,
    finished: CallSummary[],
  ) {
    this.realtime = realtime;
    this.server = server;
    this.finished = finished;
  }

  /**
   * Starts a fake Realtime server and the bridge pointed at it.
   * `env` overrides configuration variables.
   */
  static async start(
    env: Record<string, string> = {},
    options: {
      realtime?: FakeRealtimeServerOptions;
      app?: Partial<Omit<StartServerOptions, "config">>;
    } = {},
  ): Promise<BridgeHarness> {
    const realtime = await FakeRealtimeServer.start(options.realtime);
    const config = parseConfig({
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_REALTIME_URL: realtime.url,
      GREETING: "off",
      ...env,
    });
    const finished: CallSummary[] = [];
    const server = startServer({
      ...options.app,
      config,
      port: 0,
      hostname: "127.0.0.1",
      onCallFinished: (summary) => {
        finished.push(summary);
        options.app?.onCallFinished?.(summary);
      },
    });
    return new BridgeHarness(realtime, server, finished);
  }

  /** The media-stream WebSocket URL. */
  get mediaStreamUrl(): string {
    return `${this.server.localUrl.replace("http", "ws")}/media-stream`;
  }

  /** Places a call (a fake Twilio media stream). */
  async call(options: Partial<FakeTwilioCallOptions> = {}): Promise<FakeTwilioCall> {
    const call = await FakeTwilioCall.connect({ url: this.mediaStreamUrl, ...options });
    this.calls.push(call);
    return call;
  }

  /** Waits until `n` calls have finished on the bridge. */
  async waitForFinished(n = 1, timeoutMs = 3000): Promise<CallSummary[]> {
    const start = performance.now();
    while (this.finished.length < n) {
      if (performance.now() - start > timeoutMs) {
        throw new Error(`Only ${this.finished.length} of ${n} calls finished in ${timeoutMs} ms.`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.finished;
  }

  /** Closes every call, the bridge and the fake Realtime server. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.calls.map((c) => c.close().catch(() => {})));
    await this.server.shutdown();
    await this.realtime.close();
  }
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
