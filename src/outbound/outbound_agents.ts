/**
 * The agents outbound calls may use, and what each needs for calling out:
 * its caller id, outbound greeting and voicemail message. Until agent
 * profiles (an agents file) are in, the directory holds the one agent the
 * environment configures, named `default`; a profiles module implements
 * {@link AgentDirectory} over its file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { singleAgentDirectory } from "./outbound_agents.ts";
 * const agents = singleAgentDirectory({ greeting: "Hi, this is Acme Realty calling." });
 * assert.equal(agents.get(undefined)?.name, "default");
 * assert.equal(agents.get("default")?.greeting, "Hi, this is Acme Realty calling.");
 * assert.equal(agents.get("listings"), undefined);
 * ```
 *
 * @module
 */

/** An agent as outbound calling sees it. */
export interface OutboundAgent {
  /** Profile name. */
  name: string;
  /** Caller id (E.164); default `TWILIO_PHONE_NUMBER`. */
  from?: string;
  /** What the agent says first when a person answers; undefined: it waits for the callee. */
  greeting?: string;
  /** What the agent says once on an answering machine, then hangs up; undefined: hang up at once. */
  voicemail?: string;
  /** Whether the model gets the `send_dtmf` tool (phone menus). */
  sendDtmf?: boolean;
  /** Gather keypad digits into one item until this key or a pause. */
  dtmf?: { collectUntil: "#" | "*"; timeoutSeconds: number };
}

/** Looks agents up by name. */
export interface AgentDirectory {
  /** The agent called `name`, or the default agent for undefined; undefined when unknown. */
  get(name: string | undefined): OutboundAgent | undefined;
  /** Every agent's name (for error messages). */
  names(): string[];
}

/** The name of the environment-configured agent. */
export const DEFAULT_AGENT = "default";

/** A directory holding only the environment-configured agent. */
export function singleAgentDirectory(agent: Omit<OutboundAgent, "name">): AgentDirectory {
  const only: OutboundAgent = { name: DEFAULT_AGENT, ...agent };
  return {
    get: (name) => name === undefined || name === DEFAULT_AGENT ? only : undefined,
    names: () => [DEFAULT_AGENT],
  };
}
