/**
 * Twilio Media Streams messages (Twilio → server) as the socket carries them
 * (`../shared/protocol.md` §3.2: JSON text frames, numbers as strings). One
 * builder per message; {@link CoreDriver} sends them through the real parser.
 *
 * @example
 * ```ts
 * import { parseTwilioMessage } from "../../src/twilio/media_stream_messages.ts";
 * import { mark } from "./twilio_stream_messages.ts";
 *
 * const wire = mark({ sequenceNumber: 3, streamSid: "MZ1", name: "resp_1:item_1:1" });
 * const parsed = parseTwilioMessage(JSON.stringify(wire));
 * if (!parsed.ok || parsed.value.event !== "mark") throw new Error();
 * ```
 *
 * @module
 */

/** One Twilio message as JSON, before it is serialized. */
export type WireMessage = Record<string, unknown>;

/** `connected`: the first message on a media stream socket. */
export function connected(): WireMessage {
  return { event: "connected", protocol: "Call", version: "1.0.0" };
}

/** `start`: the stream's and call's ids, custom `<Parameter>`s and audio format. */
export function start(m: {
  sequenceNumber: number;
  streamSid: string;
  callSid: string;
  accountSid: string;
  customParameters: Record<string, string>;
}): WireMessage {
  return {
    event: "start",
    sequenceNumber: String(m.sequenceNumber),
    streamSid: m.streamSid,
    start: {
      accountSid: m.accountSid,
      streamSid: m.streamSid,
      callSid: m.callSid,
      tracks: ["inbound"],
      customParameters: m.customParameters,
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    },
  };
}

/** `media`: one frame of the caller's audio (base64 μ-law). */
export function media(m: {
  sequenceNumber: number;
  streamSid: string;
  chunk: number;
  timestamp: number;
  payload: string;
}): WireMessage {
  return {
    event: "media",
    sequenceNumber: String(m.sequenceNumber),
    streamSid: m.streamSid,
    media: {
      track: "inbound",
      chunk: String(m.chunk),
      timestamp: String(m.timestamp),
      payload: m.payload,
    },
  };
}

/** `mark`: Twilio echoes a mark once the audio queued before it has played (or was cleared). */
export function mark(m: { sequenceNumber: number; streamSid: string; name: string }): WireMessage {
  return {
    event: "mark",
    sequenceNumber: String(m.sequenceNumber),
    streamSid: m.streamSid,
    mark: { name: m.name },
  };
}

/** `dtmf`: the caller pressed a key. */
export function dtmf(m: { sequenceNumber: number; streamSid: string; digit: string }): WireMessage {
  return {
    event: "dtmf",
    sequenceNumber: String(m.sequenceNumber),
    streamSid: m.streamSid,
    dtmf: { track: "inbound_track", digit: m.digit },
  };
}

/** `stop`: the stream ends (the caller hung up, or the call moved on). */
export function stop(m: {
  sequenceNumber: number;
  streamSid: string;
  callSid: string;
  accountSid: string;
}): WireMessage {
  return {
    event: "stop",
    sequenceNumber: String(m.sequenceNumber),
    streamSid: m.streamSid,
    stop: { accountSid: m.accountSid, callSid: m.callSid },
  };
}
