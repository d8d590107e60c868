/**
 * Outbound calling wired from the configuration: the REST client, call
 * tickets, the dialer, campaigns (a job table in KV, woken by an interval or
 * `Deno.cron`), the outcome metric and the routes. `main.ts` creates it when
 * `API_TOKEN` is set and plugs it into the app (`createApp({ outbound })`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { OutboundService } from "./outbound_service.ts";
 * const config = parseConfig({
 *   OPENAI_API_KEY: "sk-test-0123456789abcdefghij", API_TOKEN: "t".repeat(32), PUBLIC_URL: "https://voice.example.com",
 *   TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32), TWILIO_AUTH_TOKEN: "secret", TWILIO_PHONE_NUMBER: "+15005550006",
 * });
 * const kv = await Deno.openKv(":memory:");
 * const service = OutboundService.create({ config, kv });
 * assert.ok(service.campaigns !== undefined);
 * await service.close();
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Config } from "../config/mod.ts";
import type { CallAdmission } from "../security/call_admission.ts";
import { SharedCallRate } from "../security/shared_call_rate.ts";
import type { Counter, MetricsRegistry } from "../observability/metrics.ts";
import { AmdRelay, followAmd } from "./amd_relay.ts";
import { StreamHandoff } from "./stream_handoff.ts";
import { SharedCallState } from "../calls/shared_call_state.ts";
import { SEND_DTMF_TOOL, sendDigits } from "./dtmf.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { KvAttemptStore, MemoryAttemptStore } from "./attempt_store.ts";
import type { AnsweredBy } from "./call_progress.ts";
import { CallTickets } from "./call_ticket.ts";
import { CampaignDispatcher } from "./campaign_dispatcher.ts";
import { CAMPAIGN_CRON, type CampaignCron } from "./campaign_cron.ts";
import { createCampaignRoutes } from "./campaign_routes.ts";
import { CampaignStore } from "./campaign_store.ts";
import { AgentBook } from "../agents/agent_book.ts";
import { type AgentProfile, environmentProfile } from "../agents/agent_profile.ts";
import { OutboundDialer } from "./outbound_dialer.ts";
import { createOutboundRoutes } from "./outbound_routes.ts";
import type { OutboundPlug, OutboundStreamRoutes, RouteContext } from "../http/outbound_plug.ts";
import type { RouteHandler } from "../http/route_table.ts";
import { fillCallerTemplate } from "../agents/caller_templates.ts";
import { twilioCredentials } from "../config/mod.ts";
import { formatStreamPath, parseStreamPath } from "../http/stream_path.ts";
import { TwilioCalls } from "./twilio_calls.ts";
import type { WebhookEvent } from "../webhooks/mod.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Options of {@link OutboundService.create}. */
export interface OutboundServiceOptions {
  config: Config;
  /** KV for attempts and campaigns (closed by {@link OutboundService.close}); none: no campaigns. */
  kv?: Deno.Kv;
  /**
   * The caller owns `kv` and closes it (one handle of the call store's file
   * per process, shared with the call store): {@link OutboundService.close}
   * leaves it open. Default false.
   */
  kvBorrowed?: boolean;
  /** Registers `bridge_outbound_calls_total` here when given. */
  registry?: MetricsRegistry;
  /**
   * The agents (the agents file's, read at each call so that a reload
   * applies to new calls); default: the environment's single agent.
   */
  agents?: { readonly book: AgentBook };
  fetch?: typeof fetch;
  /** Wall clock in ms. */
  now?: () => number;
  /**
   * Dispatch campaigns from this process (default true): sweep at start,
   * tick new campaigns at once, and wake due ones by `CAMPAIGN_DISPATCH`
   * (an interval, or the `Deno.cron` of `cron`). Tests that drive ticks
   * themselves turn it off, so nothing races theirs.
   */
  dispatch?: boolean;
  /** Ms between looks at the job table with `CAMPAIGN_DISPATCH=interval` [2000]. */
  pollEveryMs?: number;
  /** The cron runs come from here with `CAMPAIGN_DISPATCH=cron` [the process's]. */
  cron?: CampaignCron;
  /** Where `campaign.attempt.finished` goes (the webhook sender); undefined: nowhere. */
  events?: { emit(event: WebhookEvent): Promise<void> };
  /** Also called with each AMD result (besides {@link OutboundService.amd}). */
  onAmd?: (callSid: string, answeredBy: AnsweredBy) => void;
  logger?: Logger;
}

/** The outcome counter. */
function outboundCallsCounter(registry: MetricsRegistry): Counter {
  return registry.counter({
    name: "bridge_outbound_calls_total",
    help:
      "Finished outbound calls by outcome: human, machine, fax, busy, no-answer, failed, canceled.",
    labelNames: ["outcome"],
  });
}

/** Outbound calling of one server; `createApp({ outbound })` takes it as it is. */
export class OutboundService implements OutboundPlug {
  readonly dialer: OutboundDialer;
  readonly tickets: CallTickets;
  readonly agents: { readonly book: AgentBook };
  readonly campaigns: CampaignDispatcher | undefined;
  /** AMD results for the live streams of this process (see `amd_relay.ts`). */
  readonly amd: AmdRelay;
  /** Conversations between the media streams of a call (after keypad tones). */
  readonly handoff: StreamHandoff;
  #config: Config;
  #calls: TwilioCalls;
  #admission: CallAdmission | undefined;
  #kv: Deno.Kv | undefined;
  #ownsKv: boolean;
  #unplugCron: (() => void) | undefined;
  #log: Logger;
  #now: (() => number) | undefined;

  private constructor(options: OutboundServiceOptions) {
    const { config } = options;
    const credentials = twilioCredentials(config);
    if (config.publicUrl === undefined || credentials === undefined) {
      throw new Error("Outbound calls need PUBLIC_URL, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.");
    }
    this.#config = config;
    this.#kv = options.kv;
    this.#ownsKv = options.kvBorrowed !== true;
    this.#now = options.now;
    // With the call store's KV, the conversation after keypad tones reaches any instance.
    this.handoff = new StreamHandoff({
      ...(options.kv ? { shared: new SharedCallState(options.kv) } : {}),
      onError: (error) =>
        this.#log.warn("Could not keep a call's conversation between its streams: {error}", {
          error: errorMessage(error),
        }),
    });
    this.#log = options.logger ?? getLogger(["bridge", "outbound"]);
    this.agents = options.agents ??
      { book: new AgentBook([environmentProfile(config)], "environment") };
    this.tickets = new CallTickets({
      ...(config.streamTokenSecret !== undefined ? { secret: config.streamTokenSecret } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    this.amd = new AmdRelay();
    this.#calls = new TwilioCalls({
      ...credentials,
      baseUrl: config.twilioApiBaseUrl,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const counter = options.registry ? outboundCallsCounter(options.registry) : undefined;
    const store = options.kv
      ? new CampaignStore(options.kv, { retentionDays: config.retentionDays })
      : undefined;
    let campaigns: CampaignDispatcher | undefined;
    this.dialer = new OutboundDialer({
      calls: this.#calls,
      tickets: this.tickets,
      publicUrl: config.publicUrl,
      from: config.twilioPhoneNumber,
      agents: this.agents,
      attempts: options.kv
        ? new KvAttemptStore(options.kv, config.retentionDays)
        : new MemoryAttemptStore(),
      ...(options.now ? { now: options.now } : {}),
      onAmd: (callSid, answeredBy) => {
        this.amd.publish(callSid, answeredBy);
        options.onAmd?.(callSid, answeredBy);
      },
      logger: this.#log,
      onFinished: async (attempt) => {
        counter?.inc({ outcome: attempt.outcome });
        await campaigns?.attemptFinished(attempt);
        if (attempt.campaignId !== undefined) {
          await options.events?.emit({
            type: "campaign.attempt.finished",
            at: new Date(options.now?.() ?? Date.now()),
            agent: attempt.agent,
            data: {
              campaignId: attempt.campaignId,
              contactId: attempt.contactId ?? null,
              callSid: attempt.callSid,
              outcome: attempt.outcome,
              answeredBy: attempt.answeredBy ?? null,
              agent: attempt.agent ?? null,
            },
          });
        }
      },
    });
    if (store !== undefined) {
      campaigns = new CampaignDispatcher({
        store,
        dialer: this.dialer,
        ...(options.now ? { now: options.now } : {}),
        logger: this.#log.getChild("campaigns"),
      });
      if (options.dispatch !== false) {
        // Without Deno.cron (a local run without --unstable-cron) the interval stands in for it.
        const cron = config.campaignDispatch === "cron" &&
          (options.cron !== undefined || typeof Deno.cron === "function");
        if (config.campaignDispatch === "cron" && !cron) {
          this.#log.warn(
            "CAMPAIGN_DISPATCH=cron but this runtime has no Deno.cron (run with --unstable-cron, or on Deno Deploy); campaigns are dispatched every 2 s instead.",
          );
        }
        campaigns.start({ pollEveryMs: cron ? 0 : options.pollEveryMs ?? 2000 });
        if (cron) this.#unplugCron = (options.cron ?? CAMPAIGN_CRON).drive(campaigns.onCron);
      }
    }
    this.campaigns = campaigns;
  }

  /** Creates the service (and starts dispatching campaigns when a KV is given). */
  static create(options: OutboundServiceOptions): OutboundService {
    return new OutboundService(options);
  }

  /** Ends a call through the REST API at `TWILIO_API_BASE_URL`, for the app ({@link OutboundPlug}). */
  hangUp = async (callSid: string): Promise<void> => {
    await this.#calls.end(callSid);
  };

  /** The outbound side of each media stream, for the app ({@link OutboundPlug}). */
  streams: OutboundStreamRoutes = {
    coreOptionsFor: (path, caller) => {
      const parsed = parseStreamPath(path);
      if (parsed?.kind !== "outbound") return undefined;
      const agent = this.agents.book.byName(parsed.agent);
      if (agent === undefined) return undefined;
      const { keypad } = agent.outbound;
      const fill = (text: string | undefined) =>
        text === undefined ? undefined : fillCallerTemplate(text, caller);
      // A call resumed after keypad tones talks at once; a new one waits for the AMD result.
      // `greeting` is set even when undefined: GREETING welcomes callers, not callees.
      if (parsed.resumeCallSid !== undefined) {
        const resume = this.handoff.resumeFor(parsed.resumeCallSid);
        return {
          greeting: undefined,
          ...(keypad ? { keypad } : {}),
          ...(resume !== undefined ? { resume } : {}),
        };
      }
      return {
        greeting: fill(agent.outbound.greeting),
        awaitAnswer: { voicemail: fill(agent.outbound.voicemail) },
        ...(keypad ? { keypad } : {}),
      };
    },
    // The AMD callback may land on another instance: with a shared KV its record reaches us too.
    answeredBy: (callSid, listener) => followAmd(this.amd, this.#kv, callSid, listener),
    streamEnded: (callSid, conversation, caller) =>
      this.handoff.streamEnded(callSid, conversation, caller),
    callerOf: (path) => {
      const parsed = parseStreamPath(path);
      return parsed?.kind === "outbound" && parsed.resumeCallSid !== undefined
        ? this.handoff.callerOf(parsed.resumeCallSid)
        : undefined;
    },
    prepare: (path) => {
      const parsed = parseStreamPath(path);
      return parsed?.kind === "outbound" && parsed.resumeCallSid !== undefined
        ? this.handoff.bring(parsed.resumeCallSid)
        : undefined;
    },
  };

  /**
   * The `send_dtmf` tool (declare it for agents with `sendDtmf`): plays keys
   * into an outbound call through a REST update, then the call continues in
   * a new media stream with its conversation.
   */
  sendDtmfTool: ToolDefinition = {
    declaration: SEND_DTMF_TOOL,
    handler: async (args, context) => {
      const attempt = await this.dialer.attempts.get(context.callSid);
      if (attempt?.agent === undefined || this.#admission === undefined) {
        return {
          ok: false,
          error: "send_dtmf only works on outbound calls placed by this server.",
        };
      }
      // Twilio may stop this stream before the REST answer arrives: expect the next one first.
      this.handoff.expectNewStream(context.callSid);
      const output = JSON.parse(
        await sendDigits(context.callSid, args.digits, {
          calls: this.#calls,
          publicUrl: this.#config.publicUrl!,
          streamPath: formatStreamPath({
            kind: "outbound",
            agent: attempt.agent,
            resumeCallSid: context.callSid,
          }),
          streamParameters: this.#admission.streamParameters(context.callSid),
        }),
      );
      if (output.ok !== true) this.handoff.cancel(context.callSid);
      return output;
    },
  };

  /**
   * The tools of an agent's calls, for the app: `send_dtmf` for an agent with
   * `outbound.send_dtmf` (on an inbound call it answers the model with an error).
   */
  toolsFor = (profile: AgentProfile): ToolDefinition[] =>
    profile.outbound.sendDtmf ? [this.sendDtmfTool] : [];

  /** The routes, for the app (which passes its admission policy, agents and refusal log). */
  routes = ({ admission, callOut, refusals, consent }: RouteContext): RouteHandler => {
    this.#admission = admission;
    return createOutboundRoutes({
      apiToken: this.#config.apiToken,
      publicUrl: this.#config.publicUrl!,
      admission,
      callOut,
      ...(consent !== undefined ? { consent } : {}),
      refusals,
      dialer: this.dialer,
      agents: this.agents,
      tickets: this.tickets,
      ...(this.campaigns
        ? {
          campaigns: createCampaignRoutes({
            dispatcher: this.campaigns,
            agents: this.agents,
            ownNumber: this.#config.twilioPhoneNumber,
          }),
        }
        : {}),
      logger: this.#log,
      ownNumber: this.#config.twilioPhoneNumber,
      maxCallsPerMinute: this.#config.maxCallsPerMinute,
      // With a call store the cap counts there, for every instance that shares it.
      ...(this.#kv ? { rate: new SharedCallRate(this.#kv, this.#config.maxCallsPerMinute) } : {}),
      ...(this.#now ? { now: this.#now } : {}),
    });
  };

  /** Stops dispatching and closes the KV (unless borrowed). */
  async close(): Promise<void> {
    this.#unplugCron?.();
    await this.campaigns?.stop();
    await this.handoff.idle();
    if (this.#ownsKv) this.#kv?.close();
    this.#kv = undefined;
  }
}
