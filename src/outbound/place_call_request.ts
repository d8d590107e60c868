/**
 * The body of `POST /calls` (`{ "to": "+15551234567", "agent": "listings",
 * "context": { … } }`), checked field by field. A problem names the field
 * and says what is accepted, so the 400 answer tells the client what to fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePlaceCall } from "./place_call_request.ts";
 * import { parseConfig } from "../config/mod.ts";
 * import { AgentBook } from "../agents/agent_book.ts";
 * import { environmentProfile } from "../agents/agent_profile.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * const agents = new AgentBook([environmentProfile(config)], "environment");
 * assert.deepEqual(parsePlaceCall({ to: "+15551234567" }, agents), {
 *   ok: true,
 *   value: { to: "+15551234567", agent: "default", context: {} },
 * });
 * const bad = parsePlaceCall({ to: "555-1234" }, agents);
 * assert.equal(bad.ok ? "" : bad.field, "to");
 * ```
 *
 * @module
 */
import type { AgentBook } from "../agents/agent_book.ts";

/** Largest accepted `context`, as JSON bytes (it travels sealed in URLs and TwiML). */
export const MAX_CONTEXT_BYTES = 1024;

/** E.164: `+`, country code, at most 15 digits. */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

/** A validated request to place a call. */
export interface PlaceCall {
  to: string;
  agent: string;
  context: Record<string, unknown>;
}

/** Result of {@link parsePlaceCall}. */
export type PlaceCallCheck =
  | { ok: true; value: PlaceCall }
  | { ok: false; field: "body" | "to" | "agent" | "context"; error: string };

/**
 * The numbers a call must never go to: the server's own (`TWILIO_PHONE_NUMBER`,
 * each agent's `numbers`). A call to one would ring an agent of this server
 * (an agent calling itself, both sides on the OpenAI key).
 */
export function ownNumbers(agents: AgentBook, from: string | undefined): ReadonlySet<string> {
  const own = new Set(agents.profiles.flatMap((profile) => profile.numbers));
  if (from !== undefined) own.add(from);
  return own;
}

/** Checks a decoded JSON body of `POST /calls`; `own`: numbers refused (see {@link ownNumbers}). */
export function parsePlaceCall(
  body: unknown,
  agents: AgentBook,
  own: ReadonlySet<string> = new Set(),
): PlaceCallCheck {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return {
      ok: false,
      field: "body",
      error: 'The body must be a JSON object such as {"to": "+15551234567"}.',
    };
  }
  const b = body as Record<string, unknown>;
  const to = checkTo(b.to, own);
  if (typeof to !== "string") return to;
  const agent = checkAgent(b.agent, agents);
  if (typeof agent !== "string") return agent;
  const context = checkContext(b.context);
  if (!("value" in context)) return context;
  return { ok: true, value: { to, agent, context: context.value } };
}

/**
 * Checks the name of the agent that places a call: the agent's name (the
 * default agent's when absent), or the problem naming the known agents.
 */
export function checkAgent(
  name: unknown,
  agents: AgentBook,
): string | { ok: false; field: "agent"; error: string } {
  if (name !== undefined && typeof name !== "string") {
    return { ok: false, field: "agent", error: "agent must be the name of an agent (a string)." };
  }
  const agent = agents.forCallOut(name);
  if (agent === undefined) {
    return {
      ok: false,
      field: "agent",
      error: `agent ${JSON.stringify(name)} is unknown; known agents: ${agents.names.join(", ")}.`,
    };
  }
  return agent.name;
}

/** Checks a callee number: the number, or the problem; a number of `own` is refused. */
export function checkTo(
  to: unknown,
  own: ReadonlySet<string> = new Set(),
): string | { ok: false; field: "to"; error: string } {
  if (typeof to !== "string" || !E164.test(to)) {
    return {
      ok: false,
      field: "to",
      error:
        "to must be a phone number in E.164 form: + then the country code and number, digits only, e.g. +15551234567.",
    };
  }
  if (own.has(to)) {
    return {
      ok: false,
      field: "to",
      error:
        "to is one of this server's own numbers (TWILIO_PHONE_NUMBER or an agent's numbers): the call would ring an agent of this server.",
    };
  }
  return to;
}

/** Checks a context: a JSON object of at most {@link MAX_CONTEXT_BYTES} bytes (absent: `{}`). */
export function checkContext(
  context: unknown,
): { value: Record<string, unknown> } | { ok: false; field: "context"; error: string } {
  if (context === undefined || context === null) return { value: {} };
  if (typeof context !== "object" || Array.isArray(context)) {
    return { ok: false, field: "context", error: "context must be a JSON object." };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(context)).length;
  if (bytes > MAX_CONTEXT_BYTES) {
    return {
      ok: false,
      field: "context",
      error:
        `context is ${bytes} bytes as JSON; at most ${MAX_CONTEXT_BYTES} are accepted (it travels sealed in the call's URLs). Keep only what the agent needs, or look the rest up with a tool.`,
    };
  }
  return { value: context as Record<string, unknown> };
}
