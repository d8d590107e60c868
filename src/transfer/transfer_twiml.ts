/**
 * The TwiML of transfers, built with the Twilio SDK (attribute names checked
 * against Twilio's TwiML reference, read 2026-12-07 through the project's
 * stored-docs search: https://www.twilio.com/docs/voice/twiml/gather,
 * https://www.twilio.com/docs/voice/twiml/dial,
 * https://www.twilio.com/docs/voice/twiml/conference):
 *
 * - the person's briefing: `<Say>` inside `<Gather numDigits="1"
 *   actionOnEmptyResult="true">`, so the action is posted even when no key
 *   was pressed (no `Digits`: a decline);
 * - an accept: `<Dial><Conference>` for the person (with a `join` status
 *   callback) and, once Twilio reports the person in, the same for the
 *   caller through a REST update; both legs end the conference when they
 *   leave, so nobody stays alone in it;
 * - a cold transfer: `<Dial timeout action>` to one destination (`<Number>`
 *   or `<Sip>`); the action gets `DialCallStatus` and answers the next.
 *
 * @example
 * ```ts
 * import { briefingTwiml, conferenceTwiml } from "./transfer_twiml.ts";
 * const brief = briefingTwiml({ briefing: "Ada wants a viewing.", action: "https://x.example/transfer/answer?t=w1" });
 * if (!brief.includes('numDigits="1"') || !brief.includes('actionOnEmptyResult="true"')) throw new Error(brief);
 * if (!conferenceTwiml("transfer-abc").includes("<Conference")) throw new Error();
 * ```
 *
 * @module
 */
import VoiceResponse from "twilio/lib/twiml/VoiceResponse.js";
import { TRANSFER_ACCEPT_QUESTION, TRANSFER_BRIEFING_INTRO } from "../prompts/mod.ts";

/** Seconds the person has to press a key once the question was asked. */
const ACCEPT_TIMEOUT_SECONDS = 8;

/** What the person hears when they answer: the briefing, then press 1 or 2. */
export function briefingTwiml(options: { briefing: string; action: string }): string {
  const response = new VoiceResponse();
  const gather = response.gather({
    input: ["dtmf"],
    numDigits: 1,
    timeout: ACCEPT_TIMEOUT_SECONDS,
    action: options.action,
    method: "POST",
    actionOnEmptyResult: true,
  });
  gather.say(TRANSFER_BRIEFING_INTRO);
  gather.say(options.briefing);
  gather.say(TRANSFER_ACCEPT_QUESTION);
  // Only reached if Twilio skipped the action: never leave the person on a silent line.
  response.hangup();
  return response.toString();
}

/**
 * Joins the named conference, ending it when this leg leaves; with
 * `joinCallback`, Twilio posts `StatusCallbackEvent=participant-join` there
 * once this leg is in (the person's leg: the caller is moved only then).
 */
export function conferenceTwiml(name: string, joinCallback?: string): string {
  const response = new VoiceResponse();
  const dial = response.dial();
  dial.conference({
    startConferenceOnEnter: true,
    endConferenceOnExit: true,
    beep: "false",
    ...(joinCallback !== undefined
      ? {
        statusCallback: joinCallback,
        statusCallbackEvent: ["join"],
        statusCallbackMethod: "POST",
      }
      : {}),
  }, name);
  return response.toString();
}

/** A sentence, then hang up. */
export function sayAndHangUpTwiml(text: string): string {
  const response = new VoiceResponse();
  response.say(text);
  response.hangup();
  return response.toString();
}

/** Hang up. */
export function hangUpTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}

/** Whether `destination` is a SIP URI (else an E.164 number). */
function isSipUri(destination: string): boolean {
  return /^sips?:/i.test(destination);
}

/** A cold transfer's `<Dial>` to one destination; `action` receives `DialCallStatus`. */
export function coldDialTwiml(options: {
  destination: string;
  timeoutSeconds: number;
  action: string;
  callerId?: string;
}): string {
  const response = new VoiceResponse();
  const dial = response.dial({
    timeout: options.timeoutSeconds,
    action: options.action,
    method: "POST",
    ...(options.callerId !== undefined ? { callerId: options.callerId } : {}),
  });
  if (isSipUri(options.destination)) dial.sip(options.destination);
  else dial.number(options.destination);
  return response.toString();
}
