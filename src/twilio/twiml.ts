/**
 * TwiML documents the server answers Twilio with, built with the Twilio SDK.
 *
 * @module
 */
import VoiceResponse from "twilio/lib/twiml/VoiceResponse.js";

import { DEFAULT_APOLOGY } from "../prompts/mod.ts";

export { DEFAULT_APOLOGY };

/** Options of {@link connectStreamTwiml}. */
export interface ConnectStreamOptions {
  /** The `wss://…/media-stream` URL (no query string: Twilio drops it). */
  streamUrl: string;
  /** Where Twilio asks for the next TwiML once the stream ends (`<Connect action>`). */
  actionUrl: string;
  /** Per-call values passed as `<Parameter>` elements (arrive in `start.customParameters`). */
  parameters?: Record<string, string>;
  /**
   * Said by Twilio (`<Say>`) before the stream connects: the recording consent
   * line. The caller hears all of it first; nothing can interrupt it.
   */
  say?: string;
}

/**
 * TwiML that connects the call to the bridge's bidirectional media stream.
 *
 * @example
 * ```ts
 * import { connectStreamTwiml } from "./twiml.ts";
 * const xml = connectStreamTwiml({
 *   streamUrl: "wss://example.com/media-stream",
 *   actionUrl: "https://example.com/call-ended",
 * });
 * if (!xml.includes('<Stream url="wss://example.com/media-stream"')) throw new Error();
 * ```
 */
export function connectStreamTwiml(options: ConnectStreamOptions): string {
  const response = new VoiceResponse();
  if (options.say !== undefined) response.say(options.say);
  const connect = response.connect({ action: options.actionUrl, method: "POST" });
  const stream = connect.stream({ url: options.streamUrl });
  for (const [name, value] of Object.entries(options.parameters ?? {})) {
    stream.parameter({ name, value });
  }
  return response.toString();
}

/**
 * TwiML for the end of the stream: silence and hang-up after a normal end,
 * or a short apology first when the call ended because of an error.
 */
export function streamEndedTwiml(options: { apologize: boolean; apology?: string }): string {
  const response = new VoiceResponse();
  if (options.apologize) response.say(options.apology ?? DEFAULT_APOLOGY);
  response.hangup();
  return response.toString();
}

/** TwiML that refuses a call with a busy signal. */
export function rejectTwiml(reason: "busy" | "rejected" = "busy"): string {
  const response = new VoiceResponse();
  response.reject({ reason });
  return response.toString();
}
