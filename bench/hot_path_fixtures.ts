/**
 * The messages the hot-path benchmarks feed the relay, exactly as the wire
 * carries them: Twilio's `start` and `media` (field order of Twilio's docs)
 * and a GA Realtime audio delta (ids as OpenAI makes them). Shared by
 * `hot_path_bench.ts` (`deno bench`) and `hot_path_min.ts` (best-of batches,
 * also against another checkout).
 *
 * @example
 * ```ts
 * import { openaiDeltaText, STREAM_SID, twilioMediaText } from "./hot_path_fixtures.ts";
 * const media = JSON.parse(twilioMediaText("AAAA"));
 * if (media.streamSid !== STREAM_SID || JSON.parse(openaiDeltaText("AAAA")).delta !== "AAAA") {
 *   throw new Error();
 * }
 * ```
 *
 * @module
 */
import type { TwilioSid } from "../src/twilio/media_stream_messages.ts";

/** The stream of every benchmarked call. */
export const STREAM_SID = "MZ0123456789abcdef0123456789abcdef" as TwilioSid;

/** Twilio's `start` of that stream, as text. */
export const TWILIO_START = JSON.stringify({
  event: "start",
  streamSid: STREAM_SID,
  start: {
    streamSid: STREAM_SID,
    callSid: "CA0123456789abcdef0123456789abcdef",
    accountSid: "AC0123456789abcdef0123456789abcdef",
    mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
  },
});

/** A Twilio `media` message carrying `payload` (base64), as text. */
export function twilioMediaText(payload: string): string {
  return `{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"${payload}"},"streamSid":"${STREAM_SID}"}`;
}

/** A Realtime `response.output_audio.delta` carrying `delta` (base64), as text. */
export function openaiDeltaText(delta: string): string {
  return `{"type":"response.output_audio.delta","event_id":"event_CRx8hfS6Y2G9wjc3dJjxL","response_id":"resp_CRx8hv4HDa1R0wYdyXM5M","item_id":"item_CRx8hiVM7RF3Gd1ibkWbF","output_index":0,"content_index":0,"delta":"${delta}"}`;
}
