/**
 * Twilio Media Streams messages: parsing what Twilio sends and encoding what
 * the bridge sends back. Pure functions, no I/O.
 *
 * @module
 */
import { type Base64, isBase64 } from "../audio/base64.ts";

/**
 * The `<Parameter>` of a stream that brings the caller back to the agent
 * after a cold transfer found nobody: the agent opens with the fallback line.
 */
export const TRANSFER_FALLBACK_PARAMETER = "transferFallback";

/** `start` message details the bridge uses. */
export interface TwilioStart {
  event: "start";
  streamSid: TwilioSid;
  callSid: TwilioSid;
  accountSid: string;
  /** `<Parameter>` values from the TwiML, as Twilio forwards them. */
  customParameters: Record<string, string>;
  /** Encoding announced by Twilio, e.g. `audio/x-mulaw`. */
  encoding: string;
  /** Sample rate announced by Twilio, e.g. 8000. */
  sampleRate: number;
}

/** A message Twilio sends on the media stream, validated. */
export type TwilioInbound =
  | { event: "connected" }
  | TwilioStart
  | { event: "media"; streamSid: string; payload: Base64; timestamp: number }
  | { event: "mark"; streamSid: string; name: string }
  | { event: "dtmf"; streamSid: string; digit: string }
  | { event: "stop"; streamSid: string };

/** Result of {@link parseTwilioMessage}. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const SID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A Twilio SID as the parser checked it in `start` (letters, digits, `_` and
 * `-`, at most 64): it needs no escaping in a JSON string, so the encoder of
 * `media` writes it as it is.
 */
export type TwilioSid = string & { readonly [sidBrand]: true };
declare const sidBrand: unique symbol;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sidField(obj: Record<string, unknown>, key: string): TwilioSid | undefined {
  const value = obj[key];
  return typeof value === "string" && SID.test(value) ? value as TwilioSid : undefined;
}

/**
 * Parses and validates one text frame from Twilio's media stream.
 *
 * Never throws: malformed input gives `{ ok: false, error }` with a message
 * that says what was wrong.
 *
 * @example
 * ```ts
 * import { parseTwilioMessage } from "./media_stream_messages.ts";
 * const r = parseTwilioMessage('{"event":"connected","protocol":"Call","version":"1.0.0"}');
 * if (!r.ok || r.value.event !== "connected") throw new Error("expected connected");
 * ```
 */
export function parseTwilioMessage(text: string): ParseResult<TwilioInbound> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, error: "Twilio message is not valid JSON." };
  }
  if (!isRecord(data)) return { ok: false, error: "Twilio message is not a JSON object." };
  const event = data.event;
  if (typeof event !== "string") {
    return { ok: false, error: 'Twilio message has no string "event" field.' };
  }
  if (event === "connected") return { ok: true, value: { event } };
  // The other messages name their stream; the core drops any whose SID is not the one `start`
  // gave (checked there), so here it only has to be a string: no pattern to run on every frame.
  const streamSid = typeof data.streamSid === "string" ? data.streamSid : undefined;
  switch (event) {
    case "start": {
      const start = data.start;
      if (!isRecord(start)) {
        return { ok: false, error: "Twilio start message has no start object." };
      }
      const sid = sidField(start, "streamSid") ?? sidField(data, "streamSid");
      const callSid = sidField(start, "callSid");
      const accountSid = sidField(start, "accountSid") ?? "";
      if (sid === undefined || callSid === undefined) {
        return { ok: false, error: "Twilio start message lacks a valid streamSid or callSid." };
      }
      const params: Record<string, string> = {};
      if (isRecord(start.customParameters)) {
        for (const [k, v] of Object.entries(start.customParameters)) {
          if (typeof v === "string") params[k] = v;
        }
      }
      const format = isRecord(start.mediaFormat) ? start.mediaFormat : {};
      return {
        ok: true,
        value: {
          event,
          streamSid: sid,
          callSid,
          accountSid,
          customParameters: params,
          encoding: typeof format.encoding === "string" ? format.encoding : "audio/x-mulaw",
          sampleRate: typeof format.sampleRate === "number" ? format.sampleRate : 8000,
        },
      };
    }
    case "media": {
      const media = data.media;
      if (streamSid === undefined || !isRecord(media) || typeof media.payload !== "string") {
        return { ok: false, error: "Twilio media message lacks streamSid or media.payload." };
      }
      if (!isBase64(media.payload)) {
        return { ok: false, error: "Twilio media payload is not base64." };
      }
      const timestamp = Number(media.timestamp ?? 0);
      return {
        ok: true,
        value: {
          event,
          streamSid,
          payload: media.payload,
          timestamp: Number.isFinite(timestamp) ? timestamp : 0,
        },
      };
    }
    case "mark": {
      const mark = data.mark;
      if (streamSid === undefined || !isRecord(mark) || typeof mark.name !== "string") {
        return { ok: false, error: "Twilio mark message lacks streamSid or mark.name." };
      }
      return { ok: true, value: { event, streamSid, name: mark.name } };
    }
    case "dtmf": {
      const dtmf = data.dtmf;
      if (
        streamSid === undefined || !isRecord(dtmf) || typeof dtmf.digit !== "string" ||
        !/^[0-9*#A-D]$/.test(dtmf.digit)
      ) {
        return { ok: false, error: "Twilio dtmf message lacks streamSid or a valid dtmf.digit." };
      }
      return { ok: true, value: { event, streamSid, digit: dtmf.digit } };
    }
    case "stop": {
      if (streamSid === undefined) {
        return { ok: false, error: "Twilio stop message lacks streamSid." };
      }
      return { ok: true, value: { event, streamSid } };
    }
    default:
      return { ok: false, error: `Unknown Twilio event ${JSON.stringify(event.slice(0, 40))}.` };
  }
}

/** A message the bridge sends to Twilio on the media stream. */
export type TwilioOutbound =
  | { event: "media"; streamSid: TwilioSid; media: { payload: Base64 } }
  | { event: "mark"; streamSid: string; mark: { name: string } }
  | { event: "clear"; streamSid: string };

/** A `media` message that plays base64 μ-law audio to the caller. */
export function twilioMedia(streamSid: TwilioSid, payload: Base64): TwilioOutbound {
  return { event: "media", streamSid, media: { payload } };
}

/** A `mark` message; Twilio echoes it once the audio before it has played. */
export function twilioMark(streamSid: string, name: string): TwilioOutbound {
  return { event: "mark", streamSid, mark: { name } };
}

/** A `clear` message, which empties Twilio's playback buffer (pending marks are echoed). */
export function twilioClear(streamSid: string): TwilioOutbound {
  return { event: "clear", streamSid };
}

/**
 * The JSON text of a message to Twilio. `media` (50 a second per call while
 * the assistant speaks) is written without serializing an object, its SID and
 * payload as they are: their types ({@link TwilioSid}, `Base64`) say they need
 * no escaping (less than half the time of quoting them with `JSON.stringify`,
 * `deno task bench:micro`).
 *
 * @example
 * ```ts
 * import { encodeTwilioMessage, parseTwilioMessage, twilioMedia } from "./media_stream_messages.ts";
 * const start = parseTwilioMessage('{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1"}}');
 * if (!start.ok || start.value.event !== "start") throw new Error("expected start");
 * const media = parseTwilioMessage('{"event":"media","streamSid":"MZ1","media":{"payload":"AAAA"}}');
 * if (!media.ok || media.value.event !== "media") throw new Error("expected media");
 * const text = encodeTwilioMessage(twilioMedia(start.value.streamSid, media.value.payload));
 * if (JSON.parse(text).media.payload !== "AAAA") throw new Error("bad encoding");
 * ```
 */
export function encodeTwilioMessage(message: TwilioOutbound): string {
  if (message.event === "media") {
    return `{"event":"media","streamSid":"${message.streamSid}","media":{"payload":"${message.media.payload}"}}`;
  }
  return JSON.stringify(message);
}
