/**
 * Keypad tones (DTMF) sent on outbound calls: which digit strings the
 * `send_dtmf` tool accepts, and the TwiML that plays them into the call and
 * then reconnects the media stream. (Keys the caller presses reach the model
 * through the call core, `core/caller_keys.ts`.)
 *
 * Twilio plays `<Play digits>` with `0-9`, `*`, `#` and `w` (a half-second
 * pause); nothing else is accepted, so a model cannot smuggle other TwiML in.
 * A call update's TwiML is limited to 4000 characters by Twilio.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDigits, playDigitsTwiml } from "./dtmf.ts";
 * assert.deepEqual(checkDigits("1w2#"), { ok: true, digits: "1w2#" });
 * assert.equal(checkDigits("1;2").ok, false);
 * const xml = playDigitsTwiml("1w2#", {
 *   streamUrl: "wss://voice.example.com/media-stream",
 *   actionUrl: "https://voice.example.com/call-ended",
 *   parameters: { streamToken: "v1.x.y" },
 * });
 * assert.match(xml, /<Play digits="1w2#"\/><Connect action="https:\/\/voice.example.com\/call-ended" method="POST"><Stream url="wss:\/\/voice.example.com\/media-stream">/);
 * ```
 *
 * @module
 */
import VoiceResponse from "twilio/lib/twiml/VoiceResponse.js";
import type { ConnectStreamOptions } from "../twilio/twiml.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Longest digit string accepted at once. */
const MAX_DIGITS = 64;

/** Twilio's limit on the TwiML of a call update. */
const MAX_UPDATE_TWIML_CHARS = 4000;

const DIGITS = /^[0-9*#w]+$/;

/** Result of {@link checkDigits}. */
export type DigitsCheck = { ok: true; digits: string } | { ok: false; error: string };

/**
 * Checks a digit string for `<Play digits>`: only `0-9`, `*`, `#` and `w`,
 * 1 to {@link MAX_DIGITS} characters. The error is written for the model
 * (it reads it as the tool's output and can correct itself).
 */
export function checkDigits(value: unknown): DigitsCheck {
  if (typeof value !== "string" || value === "") {
    return { ok: false, error: "digits must be a non-empty string of 0-9, *, # and w (pause)." };
  }
  if (value.length > MAX_DIGITS) {
    return { ok: false, error: `digits is too long: at most ${MAX_DIGITS} characters at once.` };
  }
  if (!DIGITS.test(value)) {
    return {
      ok: false,
      error:
        "digits may only contain 0-9, * and #, and w for a half-second pause (no spaces or other characters).",
    };
  }
  return { ok: true, digits: value };
}

/**
 * TwiML that plays `digits` into the call, then connects the media stream
 * again (a fresh stream token among `stream.parameters`), so the
 * conversation resumes. Throws when `digits` is invalid or the TwiML would
 * exceed Twilio's 4000 characters.
 */
export function playDigitsTwiml(digits: string, stream: ConnectStreamOptions): string {
  const check = checkDigits(digits);
  if (!check.ok) throw new RangeError(check.error);
  const response = new VoiceResponse();
  response.play({ digits: check.digits });
  const connect = response.connect({ action: stream.actionUrl, method: "POST" });
  const element = connect.stream({ url: stream.streamUrl });
  for (const [name, value] of Object.entries(stream.parameters ?? {})) {
    element.parameter({ name, value });
  }
  const xml = response.toString();
  if (xml.length > MAX_UPDATE_TWIML_CHARS) {
    throw new RangeError(
      `The TwiML to play digits is ${xml.length} characters; Twilio accepts at most ${MAX_UPDATE_TWIML_CHARS} (shorten the call's context).`,
    );
  }
  return xml;
}

/** The `send_dtmf` function tool as declared to the Realtime session. */
export const SEND_DTMF_TOOL = {
  type: "function",
  name: "send_dtmf",
  description:
    "Press keys on the phone keypad, e.g. to navigate a phone menu (press 1 for sales). Use only digits 0-9, * and #, and w for a half-second pause.",
  parameters: {
    type: "object",
    properties: {
      digits: {
        type: "string",
        description: 'The keys to press, in order, e.g. "1" or "1234#" or "w2".',
        pattern: "^[0-9*#w]{1,64}$",
      },
    },
    required: ["digits"],
    additionalProperties: false,
  },
} as const;

/** What {@link sendDigits} needs. */
export interface SendDigitsOptions {
  /** The REST client (a `TwilioCalls`). */
  calls: { updateTwiml(callSid: string, twiml: string): Promise<unknown> };
  /** `PUBLIC_URL`, without trailing slash. */
  publicUrl: string;
  /** Path of the reconnected media stream (default `/media-stream`). */
  streamPath?: string;
  /** The `<Parameter>`s of the reconnected stream (a fresh stream token). */
  streamParameters: Record<string, string>;
}

/**
 * Runs the `send_dtmf` tool for `callSid`: checks the digits, then updates
 * the call with TwiML that plays them and reconnects the media stream.
 * Returns the function output for the model (JSON text): `{"ok":true,
 * "pressed":"…"}`, or `{"ok":false,"error":"…"}` for bad digits (no request
 * made) or a refused update. Never throws.
 */
export async function sendDigits(
  callSid: string,
  digits: unknown,
  options: SendDigitsOptions,
): Promise<string> {
  const check = checkDigits(digits);
  if (!check.ok) return JSON.stringify({ ok: false, error: check.error });
  let twiml: string;
  try {
    twiml = playDigitsTwiml(check.digits, {
      streamUrl: `${options.publicUrl.replace(/^http/, "ws")}${
        options.streamPath ?? "/media-stream"
      }`,
      actionUrl: `${options.publicUrl}/call-ended`,
      parameters: options.streamParameters,
    });
    await options.calls.updateTwiml(callSid, twiml);
  } catch (error) {
    return JSON.stringify({
      ok: false,
      error: `The keys could not be sent: ${errorMessage(error)}`,
    });
  }
  return JSON.stringify({ ok: true, pressed: check.digits });
}
