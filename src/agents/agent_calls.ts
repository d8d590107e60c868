/**
 * How the HTTP app routes calls to agents, in one place:
 *
 * - at `/incoming-call`: the agent for the called number (`To`), its caller
 *   context (the context webhook, awaited there while the caller hears
 *   ringing, at most `timeout_seconds`), and the stream path to put in the
 *   TwiML (`http/stream_path.ts`): plain without an agents file, else the
 *   agent's, naming the CallSid when a context is waiting for that call on
 *   this instance;
 * - at the media-stream upgrade: the agent and context named by that path
 *   (Twilio signs the URL; the stream token binds the agent's name and the
 *   CallSid), and what the call runner needs: the session.update with
 *   `{{caller.*}}` filled, the greeting, the Realtime URL and the tools;
 * - after a cold transfer: the agent's transfer tool (destinations, ring
 *   timeout) for `/call-ended` and the `<Dial action>` route.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { AgentCalls } from "./agent_calls.ts";
 * import { loadAgents } from "./agent_book.ts";
 * import { parseStreamPath } from "../http/stream_path.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * const loaded = loadAgents({ config, file: { path: "a.yaml", required: true }, env: {},
 *   readTextFile: () => "agents:\n  - name: main\n  - name: sales\n    numbers: ['+15005550001']\n" });
 * if (!loaded.ok) throw new Error();
 * const calls = new AgentCalls({ config, agents: { book: loaded.book } });
 * const answer = await calls.answer({ callSid: "CA1", from: "+15551230000", to: "+15005550001" });
 * assert.equal(answer.streamPath, "/media-stream/agent/sales");
 * const stream = calls.forStream(parseStreamPath(answer.streamPath)!);
 * assert.equal(stream.profile.name, "sales");
 * ```
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/mod.ts";
import type { ClientEvent } from "../openai/client_events.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { type CallPrompts, toolFillerSaying } from "../prompts/mod.ts";
import { AgentBook } from "./agent_book.ts";
import { type AgentProfile, environmentProfile, type TransferSpec } from "./agent_profile.ts";
import { fillCallerTemplate, hasCallerTemplates } from "./caller_templates.ts";
import { fetchCallerContext } from "./context_webhook.ts";
import { profileSessionUpdate, profileSocketUrl, profileTools } from "./profile_session.ts";
import { formatStreamPath, type StreamPath } from "../http/stream_path.ts";
import type { SharedCallState } from "../calls/shared_call_state.ts";
import { errorMessage } from "../observability/error_message.ts";

/** How long a caller context waits for its stream, in ms. */
const CONTEXT_TTL_MS = 120_000;
/** At most this many contexts and transfer targets are kept. */
const MAX_KEPT = 10_000;

/** Options of {@link AgentCalls}. */
export interface AgentCallsOptions {
  config: Config;
  /** The current agents (a holder: a reload applies to new calls). Default: the environment's. */
  agents?: { readonly book: AgentBook };
  /** Tools every agent gets, before its own. */
  tools?: readonly ToolDefinition[];
  /** Tools of one agent's calls besides its own (e.g. `send_dtmf` for `outbound.send_dtmf`). */
  toolsFor?: (profile: AgentProfile) => readonly ToolDefinition[];
  /** `fetch` of HTTP tools and the context webhook. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Where context failures and unknown agents are logged. */
  logger?: Logger;
  /** Wall clock in ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Where caller contexts also go, so that a stream landing on another
   * instance finds its call's context (see {@link AgentCalls.bringContext}).
   */
  shared?: SharedCallState;
}

/** What the call runner needs for one call. */
export interface CallSetup {
  profile: AgentProfile;
  /** The CallSid the path names (its stream's `start` must carry the same). */
  callSid: string | undefined;
  /** The agent's name the path names (its stream token must bind the same). */
  agentName: string | undefined;
  sessionUpdate: SessionUpdate;
  greeting: string | undefined;
  openaiUrl: string;
  tools: ToolDefinition[];
  /** The wording of the call (the agent's, its filler with `{{caller.*}}` filled). */
  prompts: Partial<CallPrompts>;
  /** The caller's context that waited for this stream, if any (fills `{{caller.*}}`). */
  caller: Readonly<Record<string, unknown>> | undefined;
}

/** The `session.update` the call core sends. */
export type SessionUpdate = Extract<ClientEvent, { type: "session.update" }>;

/** Routes calls to agents (see the module doc). */
export class AgentCalls {
  #options: AgentCallsOptions;
  #agents: { readonly book: AgentBook };
  #now: () => number;
  #prepared = new WeakMap<
    AgentProfile,
    { tools: ToolDefinition[]; sessionUpdate: SessionUpdate; openaiUrl: string }
  >();
  #contexts = new Map<string, { caller: Record<string, unknown>; expiresAt: number }>();
  #transfers = new Map<string, string>();
  /** The number each call called (`To` at the webhook): a warm transfer's caller id. */
  #called = new Map<string, string>();

  /** Creates the router. */
  constructor(options: AgentCallsOptions) {
    this.#options = options;
    this.#agents = options.agents ??
      { book: new AgentBook([environmentProfile(options.config)], "environment") };
    this.#now = options.now ?? Date.now;
  }

  /** The current agents. */
  get book(): AgentBook {
    return this.#agents.book;
  }

  /**
   * At the webhook: the agent for `to`, its caller context (awaited, bounded
   * by the agent's timeout) and the stream path for the TwiML. Never throws.
   */
  async answer(call: { callSid: string | null; from: string | null; to: string | null }): Promise<
    { profile: AgentProfile; streamPath: string; agentName: string | undefined }
  > {
    const book = this.book;
    const profile = book.forNumber(call.to);
    if (call.callSid && call.to) {
      this.#called.set(call.callSid, call.to);
      trim(this.#called);
    }
    if (book.source === "environment") {
      return { profile, streamPath: formatStreamPath({ kind: "plain" }), agentName: undefined };
    }
    let contextFor: string | undefined;
    const caller = await this.#webhookContext(profile, call);
    if (caller !== undefined && call.callSid) {
      await this.#keepContext(call.callSid, caller);
      contextFor = call.callSid;
    }
    const streamPath = formatStreamPath({
      kind: "agent",
      agent: profile.name,
      ...(contextFor !== undefined ? { callSid: contextFor } : {}),
    });
    return { profile, streamPath, agentName: profile.name };
  }

  /**
   * At the TwiML of a call the server placed (`from` is its caller id, `to`
   * the callee): the stream path of `agent`, the agent that placed it. Its
   * context (the `context` of `POST /calls` or a campaign's contact, over
   * what the agent's context webhook answers) waits for the stream, as an
   * inbound caller's does, when the agent has a webhook or uses
   * `{{caller.*}}`. Never throws.
   */
  async callOut(call: {
    callSid: string | null;
    from: string | null;
    to: string | null;
    agent: string;
    context: Readonly<Record<string, unknown>>;
  }): Promise<string> {
    const profile = this.book.byName(call.agent);
    let contextFor: string | undefined;
    if (profile !== undefined && call.callSid) {
      const fetched = await this.#webhookContext(profile, call);
      const caller = { ...fetched, ...call.context };
      const used = fetched !== undefined ||
        [
          profile.instructions,
          profile.filler,
          profile.outbound.greeting,
          profile.outbound.voicemail,
        ]
          .some(hasCallerTemplates);
      if (used && Object.keys(caller).length > 0) {
        await this.#keepContext(call.callSid, caller);
        contextFor = call.callSid;
      }
    }
    return formatStreamPath({
      kind: "outbound",
      agent: call.agent,
      ...(contextFor !== undefined ? { callSid: contextFor } : {}),
    });
  }

  /** The agent's context webhook's answer for the call; undefined without one or on failure (logged). */
  async #webhookContext(
    profile: AgentProfile,
    call: { callSid: string | null; from: string | null; to: string | null },
  ): Promise<Record<string, unknown> | undefined> {
    const webhook = profile.contextWebhook;
    if (webhook === undefined || !call.callSid) return undefined;
    const result = await fetchCallerContext(webhook, {
      from: call.from ?? "",
      to: call.to ?? "",
      callSid: call.callSid,
    }, this.#options.fetch ? { fetch: this.#options.fetch } : {});
    if (result.ok) return result.caller;
    this.#options.logger?.warn(
      "No caller context from the context webhook of {agent}: {reason}. The call goes on without it.",
      { agent: profile.name, reason: result.reason, callSid: call.callSid },
    );
    return undefined;
  }

  /**
   * At the upgrade: the agent, context and runner settings the stream path
   * names. `resumedCaller`: the caller context of a call resumed from its
   * checkpoint, or of its earlier stream after keypad tones (instead of the
   * one waiting on this instance).
   */
  forStream(stream: StreamPath, resumedCaller?: Readonly<Record<string, unknown>>): CallSetup {
    // An agent's stream token binds its name; an outbound call's agent is sealed in its ticket.
    const named = stream.kind === "agent" || stream.kind === "outbound" ? stream.agent : undefined;
    const agentName = stream.kind === "agent" ? stream.agent : undefined;
    const callSid = stream.kind === "agent" || stream.kind === "outbound"
      ? stream.callSid
      : undefined;
    const book = this.book;
    let profile = book.byName(named);
    if (profile === undefined) {
      if (named !== undefined) {
        this.#options.logger?.warn(
          "A media stream names the agent {agent}, which this server does not know (is the same agents file on every instance?); the default agent takes the call.",
          { agent: named },
        );
      }
      profile = book.defaultProfile;
    }
    const ready = this.#prepare(profile);
    const caller = resumedCaller ??
      (callSid === undefined ? undefined : this.#takeContext(callSid));
    if (callSid !== undefined && caller === undefined) {
      this.#options.logger?.warn(
        "The caller context of this call is not on this instance (or expired); the call goes on without it.",
        { agent: profile.name, callSid },
      );
    }
    return {
      profile,
      caller,
      callSid,
      agentName,
      sessionUpdate: caller === undefined
        ? ready.sessionUpdate
        : profileSessionUpdate(profile, this.#options.config, ready.tools, caller),
      greeting: profile.greeting === undefined
        ? undefined
        : fillCallerTemplate(profile.greeting, caller),
      openaiUrl: ready.openaiUrl,
      tools: ready.tools,
      prompts: profile.filler === undefined ? profile.prompts : {
        ...profile.prompts,
        toolFiller: toolFillerSaying(fillCallerTemplate(profile.filler, caller)),
      },
    };
  }

  /** Remembers where a (cold) transferred call goes: its agent's transfer tool. */
  transferred(callSid: string, profile: AgentProfile): void {
    if (profile.transfers[0] === undefined) return;
    this.#transfers.set(callSid, profile.name);
    trim(this.#transfers);
  }

  /**
   * Where a transferred call goes (once): the transfer tool of its agent, else
   * the environment's (`TRANSFER_NUMBERS`/`TRANSFER_NUMBER`); the agent's name
   * is undefined without an agents file.
   */
  transferTarget(
    callSid: string,
  ): { transfer: TransferSpec; agentName: string | undefined } | undefined {
    const name = this.#transfers.get(callSid);
    this.#transfers.delete(callSid);
    return this.coldTransferOf(name);
  }

  /** The transfer tool of the agent `name` (undefined: the default agent), for cold dialing. */
  coldTransferOf(
    name: string | undefined,
  ): { transfer: TransferSpec; agentName: string | undefined } | undefined {
    const book = this.book;
    const profile = book.byName(name) ?? book.defaultProfile;
    const own = profile.transfers[0] ??
      environmentProfile(this.#options.config).transfers[0];
    if (own === undefined) return undefined;
    return { transfer: own, agentName: book.source === "environment" ? undefined : profile.name };
  }

  /** The number call `callSid` called, when its webhook reached this instance. */
  calledNumber(callSid: string): string | undefined {
    return this.#called.get(callSid);
  }

  /** The stream path of agent `agentName` (undefined: the plain stream, no agents file). */
  streamPathOf(agentName: string | undefined): string {
    return formatStreamPath(
      agentName === undefined ? { kind: "plain" } : { kind: "agent", agent: agentName },
    );
  }

  /** The names the softphone offers (none without an agents file). */
  softphoneAgents(): { names: string[]; defaultName: string } {
    const book = this.book;
    return {
      names: book.source === "environment" ? [] : book.profiles.map((p) => p.name),
      defaultName: book.defaultProfile.name,
    };
  }

  #prepare(profile: AgentProfile) {
    let ready = this.#prepared.get(profile);
    if (ready === undefined) {
      const tools = [
        ...(this.#options.tools ?? []),
        ...(this.#options.toolsFor?.(profile) ?? []),
        ...profileTools(profile, this.#options.fetch ? { fetch: this.#options.fetch } : {}),
      ];
      ready = {
        tools,
        sessionUpdate: profileSessionUpdate(profile, this.#options.config, tools),
        openaiUrl: profileSocketUrl(profile, this.#options.config),
      };
      this.#prepared.set(profile, ready);
    }
    return ready;
  }

  /**
   * Before the upgrade of `stream`: when it names a call whose caller
   * context is not on this instance, brings it from the shared store (the
   * webhook was answered by another instance). Undefined when there is
   * nothing to fetch, so the upgrade stays synchronous.
   */
  bringContext(stream: StreamPath): Promise<void> | undefined {
    const callSid = stream.kind === "agent" || stream.kind === "outbound"
      ? stream.callSid
      : undefined;
    const shared = this.#options.shared;
    if (callSid === undefined || shared === undefined || this.#contexts.has(callSid)) {
      return undefined;
    }
    return shared.get<Record<string, unknown>>("caller_context", callSid).then(
      (caller) => {
        if (caller !== undefined) this.#remember(callSid, caller);
      },
      (error) => {
        this.#options.logger?.warn(
          "Could not read the caller context from the call store: {error}",
          {
            callSid,
            error: errorMessage(error),
          },
        );
      },
    );
  }

  /** Keeps the context here and, with a shared store, there too (for another instance). */
  async #keepContext(callSid: string, caller: Record<string, unknown>): Promise<void> {
    this.#remember(callSid, caller);
    await this.#options.shared?.put("caller_context", callSid, caller, CONTEXT_TTL_MS).catch(
      (error) => {
        this.#options.logger?.warn(
          "Could not keep the caller context in the call store (a stream on another instance goes on without it): {error}",
          { callSid, error: errorMessage(error) },
        );
      },
    );
  }

  #remember(callSid: string, caller: Record<string, unknown>): void {
    const now = this.#now();
    for (const [sid, entry] of this.#contexts) {
      if (entry.expiresAt > now) break;
      this.#contexts.delete(sid);
    }
    this.#contexts.set(callSid, { caller, expiresAt: now + CONTEXT_TTL_MS });
    trim(this.#contexts);
  }

  #takeContext(callSid: string): Record<string, unknown> | undefined {
    const entry = this.#contexts.get(callSid);
    this.#contexts.delete(callSid);
    return entry !== undefined && entry.expiresAt > this.#now() ? entry.caller : undefined;
  }
}

function trim(map: Map<string, unknown>): void {
  while (map.size > MAX_KEPT) map.delete(map.keys().next().value!);
}
