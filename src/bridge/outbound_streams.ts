/**
 * What the call runner needs to know about outbound calls (the bridge placed
 * them): whether a stream is one and how it opens, its answering-machine
 * result, and when its stream ends (the conversation may continue in the
 * next stream after keypad tones). Implemented by
 * `outbound/outbound_service.ts`.
 *
 * @example
 * ```ts
 * import type { OutboundStreams } from "./outbound_streams.ts";
 * const inboundOnly: OutboundStreams = {
 *   settingsFor: () => undefined,
 *   answeredBy: () => () => {},
 *   streamEnded: () => {},
 * };
 * if (inboundOnly.settingsFor({} as never) !== undefined) throw new Error();
 * ```
 *
 * @module
 */
import type { ConversationEntry } from "../core/conversation_log.ts";
import type { TwilioStart } from "../twilio/media_stream_messages.ts";

/** How the runner learns that a stream is an outbound call, and who answered it. */
export interface OutboundStreams {
  /** The opening settings of an outbound call from its `start` (call ticket); undefined: inbound. */
  settingsFor(
    start: TwilioStart,
  ): {
    greeting?: string;
    voicemail?: string;
    resume?: readonly ConversationEntry[];
    keypad?: { collectUntil: "#" | "*"; timeoutMs: number };
  } | undefined;
  /** Calls `listener` once with the call's AMD result; returns the unsubscribe function. */
  answeredBy(callSid: string, listener: (result: string) => void): () => void;
  /** An outbound call's stream ended (its conversation may go on in the next stream). */
  streamEnded(callSid: string, conversation: readonly ConversationEntry[]): void;
}
