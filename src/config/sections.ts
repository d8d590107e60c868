/**
 * The sections of the generated configuration docs: their order, titles,
 * short introductions and notes (such as what could be verified about the
 * Realtime models). Each row of `spec.ts` names its section.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SECTIONS } from "./sections.ts";
 *
 * assert.equal(Object.keys(SECTIONS)[0], "required");
 * assert.equal(SECTIONS.openai.title, "OpenAI Realtime");
 * ```
 *
 * @module
 */
import type { SectionId } from "./setting.ts";

/** What could be verified about the Realtime models (checked 2026-12-01), for the docs. */
const MODEL_NOTES = [
  "The GA Realtime schema the tests validate every event against (`tests/fixtures/realtime-events.schema.json`, generated from OpenAI's OpenAPI description 2.3.0 of 2026-08-21) lists, among others, gpt-realtime-2.1, gpt-realtime-2.1-mini, gpt-realtime-2, gpt-realtime-1.5, gpt-realtime and gpt-realtime-mini. The default is gpt-realtime-2.1; OPENAI_MODEL accepts any model id, so a newer one needs no code change.",
  "OpenAI's model page for gpt-realtime-2.1 describes a reasoning model with configurable reasoning effort and tool use, a 128,000-token context and up to 32,000 output tokens; text tokens cost $4 in / $24 out and audio tokens $32 in / $64 out per 1M (the PRICE_* defaults are these prices; gpt-realtime and gpt-realtime-1.5 charge $16 per 1M text output tokens: set PRICE_OUTPUT_TEXT_PER_MTOK=16 for them).",
  "Retirement of gpt-realtime: not verified at the source. The excerpts of OpenAI's deprecations page available when this was written did not include a Realtime entry; third-party summaries of that page report that gpt-realtime (and other legacy audio and Realtime models) shut down on 20 January 2027, and a voice platform announced migrating gpt-realtime to gpt-realtime-2.1 and gpt-realtime-mini to gpt-realtime-2.1-mini on 19 January 2027. Check https://developers.openai.com/api/docs/deprecations, or the `shutdown_date` of `GET /v1/models`, before relying on an older model.",
  "The same summaries report that gpt-4o-mini-transcribe, the default TRANSCRIPTION_MODEL, shuts down on 26 February 2027 (not verified at the source either); set TRANSCRIPTION_MODEL to its successor when OpenAI names one.",
  "`reasoning`, `truncation` and `parallel_tool_calls` are fields of the GA session in that schema; the schema describes reasoning effort and parallel tool calls as supported by reasoning models (gpt-realtime-2 and later) only.",
] as const;

/** The sections of the docs: title and a short introduction. */
export const SECTIONS: Readonly<
  Record<SectionId, { title: string; intro: string; notes?: readonly string[] }>
> = {
  required: {
    title: "Required",
    intro:
      "The server does not start without OPENAI_API_KEY, and refuses every call without TWILIO_AUTH_TOKEN (it checks Twilio's signatures with it) unless TWILIO_SIGNATURE_CHECK=off.",
  },
  openai: {
    title: "OpenAI Realtime",
    intro:
      "Which Realtime endpoint, model and voice each call uses, and the optional session features. REASONING_EFFORT, TRUNCATION and PARALLEL_TOOL_CALLS are sent in `session.update` only when set, so the model's own defaults apply otherwise.",
    notes: MODEL_NOTES,
  },
  server: {
    title: "HTTP server",
    intro:
      "Where the server listens and the public address Twilio reaches it at. Twilio only connects media streams over `wss://`: the stream URL in the TwiML is always `wss://`, so the public address must serve TLS (a tunnel such as ngrok, or a TLS proxy).",
  },
  assistant: {
    title: "Assistant behaviour",
    intro: "What the assistant is told and says first.",
  },
  turns: {
    title: "Turn detection",
    intro:
      "How OpenAI decides the caller finished speaking, and whether the caller can interrupt. The VAD_* knobs apply to one detector each; setting one for the other gives a start-up warning.",
  },
  ending: {
    title: "Ending calls",
    intro: "Timing of the hang-up after the assistant's farewell.",
  },
  twilio: {
    title: "Twilio",
    intro:
      "Credentials (to check Twilio's signatures and to hang up or transfer calls through the REST API), the REST API address and the phone numbers.",
  },
  long_calls: {
    title: "Long calls, reconnects and shutdown",
    intro:
      "Realtime sessions last at most 60 minutes and sockets drop: the bridge renews and reconnects sessions without the caller noticing, and drains calls on shutdown.",
  },
  logging: {
    title: "Logging",
    intro: "Log level and format. Secrets and phone numbers never appear in logs.",
  },
  security: {
    title: "Security and limits",
    intro:
      "Only Twilio may start a call: webhooks and the media-stream upgrade carry Twilio's signature, and each stream a per-call token. Limits protect the server and your OpenAI bill.",
  },
  operations: {
    title: "Operations: metrics and call records",
    intro:
      "Prometheus metrics and the record kept of each call (outcome, timings, token usage and an estimated cost).",
  },
  softphone: {
    title: "Browser softphone and offline demo",
    intro:
      "For trying the server without a phone: `deno task dev` serves a softphone page, `deno task demo` also replaces OpenAI with a local stand-in.",
  },
  unsupported: {
    title: "Not supported",
    intro:
      "Variables of other Realtime bridges that have no effect here; setting them gives a warning.",
  },
};
