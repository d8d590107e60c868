/**
 * Recording one call through Twilio's Recordings REST resource, after the
 * consent line (the TwiML's `<Say>` before `<Connect>`: the media stream, and
 * so {@link CallRecording.start}, only begins once Twilio has said it in
 * full). A tool marked `sensitive` pauses the recording while it runs
 * (`Status=paused`, `PauseBehavior=skip`: the pause leaves no gap of silence)
 * and resumes it after (`Status=in-progress`).
 *
 * Twilio's details (read 2026-12-07 through the stored-docs search):
 * `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings.json`
 * with `RecordingChannels` (`mono`, default, or `dual`),
 * `RecordingStatusCallback`, `RecordingStatusCallbackEvent` (`in-progress`,
 * `completed`, `absent`) and `RecordingStatusCallbackMethod`; answers the
 * Recording (`sid` `RE…`, `status` `in-progress`); `POST
 * …/Calls/{CallSid}/Recordings/{Sid}.json` with `Status` (`stopped`,
 * `paused`, `in-progress`) and `PauseBehavior` (`skip` or `silence`, the
 * default, only with `paused`): https://www.twilio.com/docs/voice/api/recording
 * (and the twilio-oai descriptions quoted by metacpan's
 * Twilio::Rest::Api::V2010::Account::Call::Recording and bump.sh's
 * UpdateCallRecording page).
 *
 * REST requests of one recording go one after the other, in order, so a
 * pause never overtakes the start nor a resume its pause. Failures are
 * logged and never affect the call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallRecording } from "./call_recording.ts";
 * import { TwilioRestClient } from "./rest_client.ts";
 *
 * const seen: string[] = [];
 * const client = new TwilioRestClient({
 *   accountSid: "AC00000000000000000000000000000000",
 *   authToken: "token",
 *   fetch: (url, init) => {
 *     seen.push(`${new URL(String(url)).pathname.split("/Calls/")[1]} ${init?.body}`);
 *     return Promise.resolve(Response.json({ sid: "RE1", status: "in-progress" }, { status: 201 }));
 *   },
 * });
 * const recording = new CallRecording({ client, channels: "dual", statusCallback: "https://x.example/recording-status" });
 * await recording.start("CA1");
 * await recording.pause();
 * await recording.resume();
 * assert.deepEqual(seen, [
 *   "CA1/Recordings.json RecordingChannels=dual&RecordingStatusCallback=https%3A%2F%2Fx.example%2Frecording-status&RecordingStatusCallbackEvent=completed&RecordingStatusCallbackMethod=POST",
 *   "CA1/Recordings/RE1.json Status=paused&PauseBehavior=skip",
 *   "CA1/Recordings/RE1.json Status=in-progress",
 * ]);
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import type { TwilioRestClient } from "./rest_client.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Options of {@link CallRecording}. */
export interface CallRecordingOptions {
  client: Pick<TwilioRestClient, "request">;
  channels: "mono" | "dual";
  /** Where Twilio posts the recording's status (signed with the auth token). */
  statusCallback: string;
  logger?: Logger;
}

/** The recording of one call. */
export class CallRecording {
  #o: CallRecordingOptions;
  #callSid: string | undefined;
  #sid: string | undefined;
  /** Sensitive tools running now. */
  #sensitive = 0;
  #queue: Promise<void> = Promise.resolve();

  /** Creates the control; nothing is recorded before {@link CallRecording.start}. */
  constructor(options: CallRecordingOptions) {
    this.#o = options;
  }

  /** The Recording SID, once started. */
  get sid(): string | undefined {
    return this.#sid;
  }

  /** Starts recording call `callSid` (after the consent line). Never rejects. */
  start(callSid: string): Promise<void> {
    this.#callSid = callSid;
    return this.#then(async () => {
      const recording = await this.#o.client.request<{ sid?: string }>(
        "POST",
        `/Calls/${encodeURIComponent(callSid)}/Recordings.json`,
        {
          RecordingChannels: this.#o.channels,
          RecordingStatusCallback: this.#o.statusCallback,
          RecordingStatusCallbackEvent: "completed",
          RecordingStatusCallbackMethod: "POST",
        },
      );
      this.#sid = recording?.sid;
      this.#o.logger?.info("Recording started.", { callSid, recordingSid: this.#sid });
    }, "start");
  }

  /** A sensitive tool starts: pauses the recording (once for overlapping tools). Never rejects. */
  pause(): Promise<void> {
    this.#sensitive++;
    if (this.#sensitive > 1) return this.#queue;
    return this.#then(() => this.#update({ Status: "paused", PauseBehavior: "skip" }), "pause");
  }

  /** A sensitive tool ended: resumes when none is left running. Never rejects. */
  resume(): Promise<void> {
    this.#sensitive = Math.max(0, this.#sensitive - 1);
    if (this.#sensitive > 0) return this.#queue;
    return this.#then(() => this.#update({ Status: "in-progress" }), "resume");
  }

  /** `tools` with each one named in `sensitive` pausing the recording while it runs. */
  guard(tools: readonly ToolDefinition[], sensitive: ReadonlySet<string>): ToolDefinition[] {
    return tools.map((tool) =>
      !sensitive.has(tool.declaration.name) ? tool : {
        declaration: tool.declaration,
        handler: async (args, context) => {
          await this.pause();
          try {
            return await tool.handler(args, context);
          } finally {
            void this.resume();
          }
        },
      }
    );
  }

  async #update(params: Record<string, string>): Promise<void> {
    if (this.#sid === undefined || this.#callSid === undefined) return;
    await this.#o.client.request(
      "POST",
      `/Calls/${encodeURIComponent(this.#callSid)}/Recordings/${
        encodeURIComponent(this.#sid)
      }.json`,
      params,
    );
  }

  /** Runs `step` after the earlier ones; a failure is logged. */
  #then(step: () => Promise<void>, what: string): Promise<void> {
    this.#queue = this.#queue.then(step).catch((error) => {
      this.#o.logger?.error("Could not {what} the call recording: {error}", {
        what,
        callSid: this.#callSid,
        error: errorMessage(error),
      });
    });
    return this.#queue;
  }
}
