/**
 * Agents for tests: the environment's single agent, with outbound settings
 * (what an agents file's `outbound:` block gives an agent).
 *
 * @module
 */
import type { Config } from "../../src/config/mod.ts";
import { AgentBook } from "../../src/agents/agent_book.ts";
import { environmentProfile, type OutboundProfile } from "../../src/agents/agent_profile.ts";

/** The environment's agent (`default`) calling out with `outbound`. */
export function environmentAgentCallingOut(
  config: Config,
  outbound: Partial<OutboundProfile>,
): { readonly book: AgentBook } {
  const profile = environmentProfile(config);
  return {
    book: new AgentBook(
      [{ ...profile, outbound: { ...profile.outbound, ...outbound } }],
      "environment",
    ),
  };
}
