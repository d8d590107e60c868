/**
 * Starts the real bridge server on port 0 against a fake Realtime server, for
 * end-to-end tests over real sockets.
 *
 * @module
 */
import { parseConfig } from "../../src/config/mod.ts";
import type { CallSummary } from "../../src/bridge/call_summary.ts";
import { type RunningServer, startServer, type StartServerOptions } from "../../src/http/server.ts";
import { FakeRealtimeServer, type FakeRealtimeServerOptions } from "./fake_realtime.ts";
import { FakeTwilioCall, type FakeTwilioCallOptions, twilioSignature } from "./fake_twilio.ts";

/** The API key used by end-to-end tests (must never show up in logs). */
export const TEST_API_KEY = "sk-test-e2e-0123456789abcdefghijklmnop";

/** The Twilio auth token of {@link BridgeHarness.startSecure} (must never show up in logs). */
export const TEST_TWILIO_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed";

/** What the bridge answered to a signed `/incoming-call`. */
export interface WebhookAnswer {
  status: number;
  body: string;
  /** The `<Stream url>` of the TwiML, if any. */
  streamUrl: string | undefined;
  /** The `<Parameter>`s of the `<Stream>`. */
  parameters: Record<string, string>;
}

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
   * `env` overrides configuration variables. Twilio signature checks are off
   * unless `env` turns them on (see {@link BridgeHarness.startSecure}). So are
   * the greeting and the waiting sound: the waiting sound starts when OpenAI
   * has not answered within 1 s of wall-clock time, which an in-process connect
   * can take on busy cores, and its bytes would then count as the audio a test
   * scripted (`receivedAudioBytes(value)`); a test of either turns it on.
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
      WAITING_SOUND: "off",
      TWILIO_SIGNATURE_CHECK: "off",
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

  /**
   * Like {@link BridgeHarness.start}, with the secure defaults: signature
   * checks on, `TWILIO_AUTH_TOKEN` = {@link TEST_TWILIO_TOKEN}. Place calls
   * with {@link BridgeHarness.signedCall}.
   */
  static startSecure(
    env: Record<string, string> = {},
    options: Parameters<typeof BridgeHarness.start>[1] = {},
  ): Promise<BridgeHarness> {
    return BridgeHarness.start(
      { TWILIO_SIGNATURE_CHECK: "on", TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN, ...env },
      options,
    );
  }

  /**
   * Posts a form to `/incoming-call` over HTTP, signed like Twilio does with
   * `authToken` (default {@link TEST_TWILIO_TOKEN}), and parses the TwiML.
   */
  async webhook(
    form: Record<string, string>,
    authToken = TEST_TWILIO_TOKEN,
  ): Promise<WebhookAnswer> {
    const url = `${this.server.localUrl}/incoming-call`;
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: { "x-twilio-signature": await twilioSignature(authToken, url, form) },
    });
    const body = await response.text();
    const parameters: Record<string, string> = {};
    for (const m of body.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) {
      parameters[m[1]] = m[2];
    }
    return {
      status: response.status,
      body,
      streamUrl: /<Stream url="([^"]*)"/.exec(body)?.[1],
      parameters,
    };
  }

  /**
   * Places a call the way Twilio does: a signed webhook, then the media
   * stream with a signed upgrade and the TwiML's `<Parameter>`s (the stream
   * token) in `start`. `options.customParameters` are added to (or override)
   * them.
   */
  async signedCall(
    options: Partial<FakeTwilioCallOptions> & { from?: string; authToken?: string } = {},
  ): Promise<FakeTwilioCall> {
    const callSid = options.callSid ?? `CA${crypto.randomUUID().replaceAll("-", "")}`;
    const answer = await this.webhook(
      { CallSid: callSid, From: options.from ?? "+14155550100", To: "+14155550199" },
      options.authToken,
    );
    if (answer.streamUrl === undefined) {
      throw new Error(`The webhook answered ${answer.status} without a stream: ${answer.body}`);
    }
    const signature = await twilioSignature(
      options.authToken ?? TEST_TWILIO_TOKEN,
      answer.streamUrl,
    );
    return await this.call({
      ...options,
      callSid,
      headers: { "x-twilio-signature": signature },
      customParameters: { ...answer.parameters, ...options.customParameters },
    });
  }

  /** The media-stream WebSocket URL the fakes connect to (plain ws:// on loopback). */
  get mediaStreamUrl(): string {
    return `${this.server.localUrl.replace("http", "ws")}/media-stream`;
  }

  /**
   * The media-stream URL as Twilio uses it: the `wss://` URL of the TwiML,
   * which Twilio signs the upgrade with (and the bridge checks the signature
   * against), even though the fakes reach the same path over plain ws://.
   */
  get twilioStreamUrl(): string {
    return `${this.server.localUrl.replace(/^http:/, "wss:")}/media-stream`;
  }

  /** Places a call (a fake Twilio media stream). */
  async call(options: Partial<FakeTwilioCallOptions> = {}): Promise<FakeTwilioCall> {
    const call = await FakeTwilioCall.connect({ url: this.mediaStreamUrl, ...options });
    this.calls.push(call);
    return call;
  }

  /**
   * What Twilio would get from the `<Connect action>` URL once the stream of
   * `callSid` ended (the harness runs without signature checks).
   */
  async callEnded(callSid: string): Promise<string> {
    const res = await this.server.app.handler(
      new Request("http://127.0.0.1/call-ended", {
        method: "POST",
        body: new URLSearchParams({ CallSid: callSid }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    return await res.text();
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
