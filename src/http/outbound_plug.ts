/**
 * How outbound calling plugs into the app, in one shape: its routes (built
 * with the app's admission policy and agents), the outbound side of its
 * media streams, the tools it adds and its REST hang-up.
 * `outbound/outbound_service.ts` implements it; `createApp({ outbound })`
 * takes it.
 *
 * @module
 */
import type { AgentCalls } from "../agents/agent_calls.ts";
import type { OutboundStreams } from "../bridge/outbound_streams.ts";
import type { CallCoreOptions } from "../core/call_core_options.ts";
import type { CallAdmission } from "../security/call_admission.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import type { AgentProfile } from "../agents/agent_profile.ts";
import type { HangUp } from "../twilio/rest_hang_up.ts";
import type { RouteHandler } from "./route_table.ts";
import type { RefusalLog } from "../security/refusal_log.ts";

/** What the app gives the extra routes it mounts. */
export interface RouteContext {
  /** Who may start a call (signatures, stream tokens). */
  admission: CallAdmission;
  /** The log of refused requests (one throttle for every route). */
  refusals: RefusalLog;
  /** The stream path of a call the server placed, its context kept for the stream (`AgentCalls.callOut`). */
  callOut: AgentCalls["callOut"];
  /**
   * The recording consent line of agent `agent`'s calls (said before the
   * stream connects; the recording starts with the stream), if any.
   */
  consent?: (agent: string) => string | undefined;
}

/** {@link OutboundStreams} plus the core settings of each outbound stream path. */
export interface OutboundStreamRoutes extends OutboundStreams {
  /**
   * The core options of the stream at `path` (`caller`: the context that
   * waited for it, for `{{caller.*}}`), or undefined when it names no known agent.
   */
  coreOptionsFor(
    path: string,
    caller?: Readonly<Record<string, unknown>>,
  ): Partial<CallCoreOptions> | undefined;
  /**
   * The caller context the stream at `path` carries on with: the one of the
   * call's earlier stream, for the stream after keypad tones (else undefined).
   */
  callerOf(path: string): Readonly<Record<string, unknown>> | undefined;
  /**
   * Before the upgrade of the stream at `path`: brings what it needs from
   * the shared store (the conversation after keypad tones); undefined when
   * there is nothing to fetch.
   */
  prepare?(path: string): Promise<void> | undefined;
}

/** How outbound calling plugs into the app. */
export interface OutboundPlug {
  /**
   * Its routes (`POST /calls`, `/outbound/*`, `/campaigns…`), built with the
   * app's admission policy, so their TwiML carries stream tokens this app
   * accepts, and its agents.
   */
  routes(app: RouteContext): RouteHandler;
  /** The outbound side of each outbound stream (`/media-stream/outbound/…`). */
  streams: OutboundStreamRoutes;
  /** The tools it adds to an agent's calls (`send_dtmf` for `outbound.send_dtmf`). */
  toolsFor(profile: AgentProfile): readonly ToolDefinition[];
  /** Ends calls through Twilio's REST API (unless `AppOptions.hangUp` is given). */
  hangUp: HangUp;
}
