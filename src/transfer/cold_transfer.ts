/**
 * Cold transfers to several destinations: after the agent's stream ended
 * with a transfer, `/call-ended` answers a `<Dial timeout action>` to the
 * first destination; Twilio posts the `<Dial action>` with `DialCallStatus`
 * when that call ends (values per https://www.twilio.com/docs/voice/twiml/dial,
 * read 2026-12-07 through the stored-docs search: `completed`, `answered`,
 * `busy`, `no-answer`, `failed`, `canceled`):
 *
 * - `completed`/`answered`: a person talked with the caller; hang up;
 * - the caller's own call is over (`CallStatus` `completed`): hang up;
 * - anything else: the next destination, and after the last one the caller
 *   goes back to the agent (a new media stream whose `start` carries
 *   {@link TRANSFER_FALLBACK_PARAMETER}), who opens with the fallback line —
 *   a busy line no longer ends the call. With the shared call store, that
 *   stream is the call's resumed stream (`/media-stream/resumed/<CallSid>`,
 *   on any instance): it replays the conversation from the call's checkpoint
 *   (`calls/call_checkpoints.ts`), so the agent knows what was said.
 *
 * The action URL carries a signed token binding the caller's CallSid, the
 * agent and the destination's index (`transfer_token.ts`).
 *
 * @module
 */
import type { TransferSpec } from "../agents/agent_profile.ts";
import type { CallCheckpoints } from "../calls/call_checkpoints.ts";
import { formatStreamPath } from "../http/stream_path.ts";
import { connectStreamTwiml } from "../twilio/twiml.ts";
import { TRANSFER_FALLBACK_PARAMETER } from "../twilio/media_stream_messages.ts";
import type { TransferTokens } from "./transfer_token.ts";
import { TRANSFER_ROUTES } from "./transfer_paths.ts";
import { coldDialTwiml, hangUpTwiml } from "./transfer_twiml.ts";
import {
  coldLegs,
  failedDial,
  readTried,
  type TransferReport,
  type TransferResult,
  triedParameter,
} from "./transfer_report.ts";
import { errorMessage } from "../observability/error_message.ts";

/** What cold transfers need from the rest of the app. */
export interface ColdTransferOptions {
  tokens: TransferTokens;
  /** The transfer tool of agent `name` (undefined: the default agent). */
  transferOf(
    name: string | undefined,
  ): { transfer: TransferSpec; agentName: string | undefined } | undefined;
  /** The media-stream path of agent `name`. */
  streamPathOf(name: string | undefined): string;
  /** The `<Parameter>`s (stream token) of a new stream of `callSid` for `agent`. */
  streamParameters(callSid: string, agent: string | undefined): Record<string, string>;
  /** How each cold transfer ended (metrics, webhooks). */
  onFinished?: (report: TransferReport) => void;
  /** The shared call store: the fallback stream replays the call's conversation. */
  checkpoints?: Pick<CallCheckpoints, "reopenAfterTransfer" | "markOver">;
  /** Where a failed checkpoint read or write is logged. */
  logger?: { warn(message: string, properties?: Record<string, unknown>): void };
}

/** Answers the TwiML of cold transfers. */
export class ColdTransfers {
  #options: ColdTransferOptions;

  /** Creates the answerer. */
  constructor(options: ColdTransferOptions) {
    this.#options = options;
  }

  /** The first `<Dial>` of a call whose agent transferred it (`base`: the public http origin). */
  firstDial(
    callSid: string,
    target: { transfer: TransferSpec; agentName: string | undefined },
    base: string,
  ): string {
    return this.#dial(callSid, target, 0, base, []);
  }

  /**
   * The `<Dial action>` (`query`: its URL's, with the token `t`): the next
   * destination, the way back to the agent, or the end.
   */
  async dialEnded(
    query: URLSearchParams,
    form: URLSearchParams,
    base: { http: string; ws: string },
  ): Promise<string> {
    const callSid = form.get("CallSid") ?? "";
    const opened = this.#options.tokens.openCold(query.get("t"), callSid);
    const target = opened === undefined ? undefined : this.#options.transferOf(opened.agent);
    if (opened === undefined || target === undefined) return hangUpTwiml();
    // The statuses of the destinations before (unknown if the URL lost them).
    const tried = readTried(query, opened.index) ??
      Array.from({ length: opened.index }, () => "unknown");
    const status = form.get("DialCallStatus") ?? "failed";
    const finished = (result: TransferResult, last: string) =>
      this.#options.onFinished?.({
        mode: "cold",
        callSid,
        agent: target.agentName,
        result,
        legs: coldLegs(target.transfer.destinations, [...tried, last]),
      });
    if (status === "completed" || status === "answered") {
      finished("transferred", status);
      await this.#checkpoint(() => this.#options.checkpoints?.markOver(callSid, "transferred"));
      return hangUpTwiml();
    }
    const callStatus = form.get("CallStatus");
    if (callStatus === "completed" || callStatus === "canceled") {
      // The caller hung up while the destination rang: nobody to dial for.
      finished("caller_hung_up", status);
      await this.#checkpoint(() => this.#options.checkpoints?.markOver(callSid, "caller_hung_up"));
      return hangUpTwiml();
    }
    const next = opened.index + 1;
    if (next < target.transfer.destinations.length) {
      return this.#dial(callSid, target, next, base.http, [...tried, failedDial(status)]);
    }
    finished("fallback", status);
    // Back to the agent with the conversation so far (from the shared store), else a new one.
    const reopened = await this.#checkpoint(() =>
      this.#options.checkpoints?.reopenAfterTransfer(callSid)
    );
    const path = reopened !== undefined && reopened.conversation.length > 0
      ? formatStreamPath({ kind: "resumed", callSid })
      : this.#options.streamPathOf(target.agentName);
    return connectStreamTwiml({
      streamUrl: `${base.ws}${path}`,
      actionUrl: `${base.http}/call-ended`,
      parameters: {
        ...this.#options.streamParameters(callSid, target.agentName),
        [TRANSFER_FALLBACK_PARAMETER]: "1",
      },
    });
  }

  /** Runs a checkpoint read or write; a failure is logged, never fatal to the call. */
  async #checkpoint<T>(work: () => Promise<T> | undefined): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.#options.logger?.warn("Could not update the call's checkpoint: {error}", {
        error: errorMessage(error),
      });
      return undefined;
    }
  }

  #dial(
    callSid: string,
    target: { transfer: TransferSpec; agentName: string | undefined },
    index: number,
    base: string,
    tried: readonly string[],
  ): string {
    const token = this.#options.tokens.cold(callSid, target.agentName, index);
    const history = tried.length === 0 ? "" : `&${triedParameter(tried)}`;
    return coldDialTwiml({
      destination: target.transfer.destinations[index],
      timeoutSeconds: target.transfer.ringTimeoutSeconds,
      action: `${base}${TRANSFER_ROUTES.dialEnded}?t=${token}${history}`,
    });
  }
}
