/**
 * What the call runner needs to know about an outbound call's stream (the
 * bridge placed the call): its answering-machine result, and when the stream
 * ends (the conversation may continue in the next stream after keypad
 * tones). Implemented by `outbound/outbound_service.ts`.
 *
 * @example
 * ```ts
 * import type { OutboundStreams } from "./outbound_streams.ts";
 * const heard: string[] = [];
 * const streams: OutboundStreams = {
 *   answeredBy: (_callSid, listener) => {
 *     listener("human");
 *     return () => {};
 *   },
 *   streamEnded: () => false,
 * };
 * streams.answeredBy("CA1", (result) => heard.push(result));
 * if (heard[0] !== "human") throw new Error();
 * ```
 *
 * @module
 */
import type { ConversationEntry } from "../core/conversation_log.ts";

/** The outbound side of one media stream. */
export interface OutboundStreams {
  /** Calls `listener` once with the call's AMD result; returns the unsubscribe function. */
  answeredBy(callSid: string, listener: (answeredBy: string) => void): () => void;
  /**
   * The stream ended: true when the call goes on in its next stream (keypad
   * tones), which gets this conversation and the call's caller context.
   */
  streamEnded(
    callSid: string,
    conversation: readonly ConversationEntry[],
    caller: Readonly<Record<string, unknown>> | undefined,
  ): boolean;
}
