/**
 * Every sentence the model is asked to say and every sentence a caller hears
 * from Twilio, in one place: the default system message and greeting, the
 * per-response instructions of each way a call ends, the tool descriptions
 * and the apologies Twilio speaks. The call core receives its wording through
 * its options ({@link CallPrompts}), so a profile or a language can replace
 * any of it without touching the state machine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callPrompts, DEFAULT_CALL_PROMPTS } from "./mod.ts";
 * const german = callPrompts({ farewell: "Verabschiede dich kurz und freundlich." });
 * assert.equal(german.farewell, "Verabschiede dich kurz und freundlich.");
 * assert.equal(german.idle, DEFAULT_CALL_PROMPTS.idle); // the rest stays
 * assert.match(german.greeting("Hi there!"), /"Hi there!"/);
 * ```
 *
 * @module
 */

/** The default company name used in the default system message and greeting. */
export const DEFAULT_COMPANY_NAME = "Acme Realty";

/**
 * The default session instructions: a phone receptionist of `companyName`.
 *
 * @param companyName The company the receptionist answers for.
 */
export function defaultSystemMessage(companyName: string): string {
  return [
    `You are the friendly phone receptionist of ${companyName}.`,
    "You are talking to a caller on a phone call, so keep every reply brief: one or two short sentences in plain spoken language, with no lists, markdown, emoji or URLs.",
    "Be warm, polite and honest; ask one question at a time, and if you do not know something, say so and offer to take a message.",
    "When the caller says goodbye or asks to end the call, call the end_call tool; you will then be asked to say a short farewell.",
  ].join(" ");
}

/**
 * The default greeting.
 *
 * @param companyName The company the receptionist answers for.
 */
export function defaultGreeting(companyName: string): string {
  return `Hello! Thanks for calling ${companyName}. How can I help you today?`;
}

/** Default `briefing` of a warm transfer tool: how the model sums the call up for the person. */
const DEFAULT_TRANSFER_BRIEFING =
  "Write a short briefing for a staff member who is about to take over this phone call: who the caller is (if they said), what they want, and what has been done so far. Two or three plain sentences, no greeting, no lists. Do not include phone numbers or payment details.";

/** Default `fallback` of a transfer tool: what the agent tells the caller when nobody takes the call. */
export const DEFAULT_TRANSFER_FALLBACK =
  "Nobody on the staff could take the call right now. In one short sentence tell the caller so, then offer to take a message or to help with something else, and go on with the conversation.";

/** What the person hears first on a warm transfer (`<Say>`, before the briefing). */
export const TRANSFER_BRIEFING_INTRO = "Incoming call transfer from the phone assistant.";

/** What the person hears after the briefing (`<Say>` in the `<Gather>`). */
export const TRANSFER_ACCEPT_QUESTION = "Press 1 to take the call, or 2 to decline.";

/** What the person hears after declining, or when the caller is gone (`<Say>`, then hang-up). */
export const TRANSFER_DECLINED = "Thank you. The assistant will take care of the caller. Goodbye.";

/** What the person hears when the caller hung up before they accepted. */
export const TRANSFER_CALLER_GONE = "Sorry, the caller has already hung up. Goodbye.";

/** The briefing when the model wrote none in time: the reason the model gave for the transfer. */
export function transferBriefingFromReason(reason: string | undefined): string {
  return reason === undefined || reason.trim() === ""
    ? "A caller asked to speak with a person."
    : `A caller needs a person: ${reason.trim()}`;
}

/** What the call core asks the model to say, response by response. */
export interface CallPrompts {
  /** Instructions of the first response: say `greeting` word for word. */
  greeting(greeting: string): string;
  /** After `end_call`: one short goodbye. */
  farewell: string;
  /** After `transfer_call` (cold): say you are transferring the caller. */
  transfer: string;
  /** After a warm transfer tool: say you are getting a person, and keep the caller company. */
  transferHold: string;
  /** Instructions of the out-of-band text response that briefs the person taking the call. */
  transferBriefing: string;
  /** Nobody took the call: tell the caller, and go on (e.g. offer to take a message). */
  transferFallback: string;
  /** `MAX_CALL_SECONDS` reached: say the call has to end. */
  timeLimit: string;
  /** The caller was silent for `CALLER_IDLE_SECONDS`: say goodbye. */
  idle: string;
  /** The server is shutting down: say goodbye and invite a call back. */
  drain: string;
  /** An outbound call reached a voicemail: leave `message`, word for word. */
  voicemail(message: string): string;
  /** A tool takes long: one short sentence so the caller does not hear silence. */
  toolFiller: string;
  /** The user text item for keys the caller pressed (`digits`, e.g. "42#"). */
  keypad(digits: string): string;
  /**
   * The call went on in a new media stream (its server stopped or was
   * replaced) with the conversation so far: one short line, then go on.
   */
  resumed: string;
}

/** The default (English) wording of {@link CallPrompts}. */
export const DEFAULT_CALL_PROMPTS: CallPrompts = {
  greeting: (greeting) =>
    `Greet the caller now by saying exactly this, and nothing else: "${greeting}"`,
  farewell:
    "The caller is ending the call. Say one short, warm goodbye sentence, then stop. Do not ask any question.",
  transfer:
    "The caller is being transferred to a person on the staff. In one short sentence tell them you are transferring them now, then stop. Do not ask any question.",
  transferHold:
    "You are calling a person on the staff for the caller. In one short sentence tell the caller you are getting someone for them and to stay on the line. Keep talking with them while they wait; do not say they are connected until you are told so.",
  transferBriefing: DEFAULT_TRANSFER_BRIEFING,
  transferFallback: DEFAULT_TRANSFER_FALLBACK,
  timeLimit:
    "The call has reached its time limit. In one short, polite sentence tell the caller you have to end the call now, and say goodbye. Do not ask any question.",
  idle:
    "The caller has been silent for a while. In one short, polite sentence say you will end the call because you have not heard from them, and say goodbye. Do not ask any question.",
  drain:
    "The call has to end now because the service is restarting. Say one short, warm goodbye sentence and invite the caller to call back, then stop. Do not ask any question.",
  voicemail: (message) =>
    `You reached a voicemail box, not a person. Leave this message now, saying exactly this and nothing else: "${message}"`,
  toolFiller:
    "You are still waiting for a lookup to finish. In a few words tell the caller to hold on a moment (for example: One moment, please.). Say nothing else and do not answer their question yet.",
  keypad: (digits) => `The caller pressed ${digits.split("").join(" ")} on the phone keypad.`,
  resumed:
    "The phone line dropped for a moment and is back. Do not greet the caller again. In one short sentence acknowledge the interruption (for example: Sorry about that, I'm back.), then continue the conversation where it left off.",
};

/**
 * The `toolFiller` wording that has the model say `text` (an agent's
 * `filler`) word for word.
 */
export function toolFillerSaying(text: string): string {
  return `You are still waiting for a lookup to finish. Say exactly this, and nothing else: "${text}" Do not answer the caller's question yet.`;
}

/** The default wording with `overrides` applied. */
export function callPrompts(overrides: Partial<CallPrompts> = {}): CallPrompts {
  return { ...DEFAULT_CALL_PROMPTS, ...overrides };
}

/** Descriptions of the built-in tools, as the model reads them. */
export const TOOL_DESCRIPTIONS = {
  endCall:
    "End the phone call. Call this when the caller says goodbye, asks to hang up, or the conversation is clearly finished. You will then be asked to say one short farewell.",
  endCallReason: "Why the call is ending, in a few words.",
  transferCall:
    "Transfer the caller to a person on the staff. Call this when the caller asks for a human, or when you cannot help with their request. You will then be asked to tell the caller, in one short sentence, that you are transferring them.",
  transferCallReason: "Why the caller needs a person, in a few words.",
  warmTransferCall:
    "Call a person on the staff and hand the caller over once they accept. Call this when the caller asks for a human, or when you cannot help with their request. You stay on the line with the caller while the person's phone rings; you will be told if nobody can take the call.",
} as const;

/** What Twilio says (`<Say>`) when the assistant cannot be reached. */
export const DEFAULT_APOLOGY =
  "Sorry, our assistant is unavailable right now. Please call again later. Goodbye.";

/**
 * Backchannels by language (ISO 639-1): words and short phrases a caller says
 * to show they are listening, which never interrupt the assistant (see
 * `src/core/interruption_decision.ts`; hyphens and punctuation are ignored,
 * so "mm-hmm" also matches "Mmhmm."). An agent's `interruptions.backchannels`
 * replaces its language's list.
 */
const DEFAULT_BACKCHANNELS: Readonly<Record<string, readonly string[]>> = {
  en: [
    "mm-hmm",
    "mhm",
    "mm",
    "hmm",
    "uh-huh",
    "uh huh",
    "yeah",
    "yep",
    "yes",
    "okay",
    "ok",
    "right",
    "sure",
    "i see",
    "got it",
    "alright",
    "all right",
  ],
  es: ["ajá", "aha", "mhm", "sí", "vale", "claro", "bueno", "ya", "okey", "de acuerdo"],
  fr: ["mm-hmm", "mhm", "oui", "ouais", "d'accord", "ok", "okay", "bien sûr", "je vois", "ah bon"],
  de: ["mhm", "mm-hmm", "ja", "genau", "okay", "ok", "klar", "stimmt", "aha", "alles klar"],
  it: ["mhm", "sì", "certo", "ok", "okay", "va bene", "capito", "esatto", "già"],
  pt: ["mhm", "aham", "sim", "tá", "certo", "claro", "ok", "okay", "entendi", "uhum"],
};

/** The backchannels of `language` (ISO 639-1; English when unknown or undefined). */
export function backchannelsFor(language: string | undefined): readonly string[] {
  const key = language?.toLowerCase().slice(0, 2);
  return (key !== undefined ? DEFAULT_BACKCHANNELS[key] : undefined) ?? DEFAULT_BACKCHANNELS.en;
}

/** What the post-call analysis model is told (`src/analysis/`); the transcript follows in the input. */
export const ANALYSIS_PROMPTS = {
  instructions:
    "You review a finished phone call between a caller and a voice assistant. The input has the assistant's own instructions, then the call's transcript with its tool calls and their results. Answer only from what was said and done in the call; where the call does not say, use null.",
  summary: "summary: a few sentences on who called, what they wanted and how the call ended.",
  extraction: "extraction: the fields of the schema, as the call gave them.",
  success: (criterion: string) =>
    `success: passed is true only if this happened in the call: ${criterion} reason: one sentence saying why.`,
} as const;

/**
 * GPT-Live (`engine: live`): what a new session is told of the call so far
 * (it starts empty; `lines` are "Caller: …", "You: …", "Tool …: …").
 */
export function liveHistory(lines: readonly string[]): string {
  return `This phone call is continuing after a short technical pause. Do not greet the caller again and do not repeat what you already said; if you were cut off, finish your point briefly. The conversation so far:\n${
    lines.join("\n")
  }`;
}

/** GPT-Live: one line of {@link liveHistory}, or what the caller typed on the keypad. */
export function liveHistoryLine(role: "user" | "assistant" | "tool", text: string): string {
  return role === "user"
    ? `Caller: ${text}`
    : role === "assistant"
    ? `You: ${text}`
    : `Tool result: ${text}`;
}
