/**
 * Outbound calling wired from the configuration: the REST client, call
 * tickets, the dialer, campaigns on the KV queue, the outcome metric and the
 * routes. `main.ts` creates it when `API_TOKEN` is set and passes
 * {@link OutboundService.routes} to the app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config.ts";
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
import type { Config } from "../config_types.ts";
import type { CallAdmission } from "../security/call_admission.ts";
import type { RefusalLog } from "../security/refusal_log.ts";
import type { Counter, MetricsRegistry } from "../observability/metrics.ts";
import { AmdRelay, followAmd } from "./amd_relay.ts";
import { StreamHandoff } from "./stream_handoff.ts";
import { SEND_DTMF_TOOL, sendDigits } from "./dtmf.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { KvAttemptStore, MemoryAttemptStore } from "./attempt_store.ts";
import type { AnsweredBy } from "./call_progress.ts";
import { CallTickets } from "./call_ticket.ts";
import { CampaignDispatcher } from "./campaign_dispatcher.ts";
import { createCampaignRoutes } from "./campaign_routes.ts";
import { CampaignStore } from "./campaign_store.ts";
import { type AgentDirectory, singleAgentDirectory } from "./outbound_agents.ts";
import { OutboundDialer } from "./outbound_dialer.ts";
import { createOutboundRoutes, type RouteHandler } from "./outbound_routes.ts";
import type { OutboundStreamRoutes } from "../http/app.ts";
import { twilioCredentials } from "../config.ts";
import { outboundStreamPath, parseOutboundStreamPath } from "./outbound_stream_path.ts";
import { TwilioCalls } from "./twilio_calls.ts";

/** Options of {@link OutboundService.create}. */
export interface OutboundServiceOptions {
  config: Config;
  /** KV for attempts and campaigns (closed by {@link OutboundService.close}); none: no campaigns. */
  kv?: Deno.Kv;
  /** Registers `bridge_outbound_calls_total` here when given. */
  registry?: MetricsRegistry;
  /** Agents; default: the environment-configured one. */
  agents?: AgentDirectory;
  fetch?: typeof fetch;
  /** Wall clock in ms. */
  now?: () => number;
  /**
   * Deliver the campaign ticks queued in KV (default true). Tests that drive
   * ticks themselves turn it off, so no queued tick races theirs.
   */
  listenQueue?: boolean;
  /** Also called with each AMD result (besides {@link OutboundService.amd}). */
  onAmd?: (callSid: string, answeredBy: AnsweredBy) => void;
  logger?: Logger;
}

/** The outcome counter. */
export function outboundCallsCounter(registry: MetricsRegistry): Counter {
  return registry.counter({
    name: "bridge_outbound_calls_total",
    help:
      "Finished outbound calls by outcome: human, machine, fax, busy, no-answer, failed, canceled.",
    labelNames: ["outcome"],
  });
}

/** Outbound calling of one server. */
export class OutboundService {
  readonly dialer: OutboundDialer;
  readonly tickets: CallTickets;
  readonly agents: AgentDirectory;
  readonly campaigns: CampaignDispatcher | undefined;
  /** AMD results for the live streams of this process (see `amd_relay.ts`). */
  readonly amd: AmdRelay;
  /** Conversations between the media streams of a call (after keypad tones). */
  readonly handoff = new StreamHandoff();
  #config: Config;
  #calls: TwilioCalls;
  #admission: CallAdmission | undefined;
  #kv: Deno.Kv | undefined;
  #listening: Promise<void> | undefined;
  #log: Logger;

  private constructor(options: OutboundServiceOptions) {
    const { config } = options;
    const credentials = twilioCredentials(config);
    if (config.publicUrl === undefined || credentials === undefined) {
      throw new Error("Outbound calls need PUBLIC_URL, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.");
    }
    this.#config = config;
    this.#kv = options.kv;
    this.#log = options.logger ?? getLogger(["bridge", "outbound"]);
    // The environment's agent has no outbound greeting (GREETING welcomes callers) nor voicemail
    // message: it opens in its own words and hangs up on machines.
    this.agents = options.agents ?? singleAgentDirectory({});
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
    const store = options.kv ? new CampaignStore(options.kv) : undefined;
    let campaigns: CampaignDispatcher | undefined;
    this.dialer = new OutboundDialer({
      calls: this.#calls,
      tickets: this.tickets,
      publicUrl: config.publicUrl,
      from: config.twilioPhoneNumber,
      agents: this.agents,
      attempts: options.kv ? new KvAttemptStore(options.kv) : new MemoryAttemptStore(),
      ...(options.now ? { now: options.now } : {}),
      onAmd: (callSid, answeredBy) => {
        this.amd.publish(callSid, answeredBy);
        options.onAmd?.(callSid, answeredBy);
      },
      logger: this.#log,
      onFinished: async (attempt) => {
        counter?.inc({ outcome: attempt.outcome });
        await campaigns?.attemptFinished(attempt);
      },
    });
    if (store !== undefined) {
      campaigns = new CampaignDispatcher({
        store,
        dialer: this.dialer,
        ...(options.now ? { now: options.now } : {}),
        logger: this.#log.getChild("campaigns"),
      });
      if (options.listenQueue !== false) this.#listening = campaigns.listen();
    }
    this.campaigns = campaigns;
  }

  /** Creates the service (and starts listening to the campaign queue when a KV is given). */
  static create(options: OutboundServiceOptions): OutboundService {
    return new OutboundService(options);
  }

  /** Ends a call through the REST API at `TWILIO_API_BASE_URL`, for `createApp({ hangUp })`. */
  hangUp = async (callSid: string): Promise<void> => {
    await this.#calls.end(callSid);
  };

  /** The outbound side of each media stream, for `createApp({ outboundStreams })`. */
  streams: OutboundStreamRoutes = {
    coreOptionsFor: (path) => {
      const parsed = parseOutboundStreamPath(path);
      if (parsed === undefined) return undefined;
      const agent = this.agents.get(parsed.agent);
      if (agent === undefined) return undefined;
      const keypad = agent.dtmf === undefined ? undefined : {
        collectUntil: agent.dtmf.collectUntil,
        timeoutMs: agent.dtmf.timeoutSeconds * 1000,
      };
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
        greeting: agent.greeting,
        awaitAnswer: { voicemail: agent.voicemail },
        ...(keypad ? { keypad } : {}),
      };
    },
    // The AMD callback may land on another instance: with a shared KV its record reaches us too.
    answeredBy: (callSid, listener) => followAmd(this.amd, this.#kv, callSid, listener),
    streamEnded: (callSid, conversation) => this.handoff.streamEnded(callSid, conversation),
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
          streamPath: outboundStreamPath(attempt.agent, context.callSid),
          streamParameters: this.#admission.streamParameters(context.callSid),
        }),
      );
      if (output.ok !== true) this.handoff.cancel(context.callSid);
      return output;
    },
  };

  /**
   * The tools to declare, for `createApp({ tools })`: `send_dtmf` when an
   * agent has `sendDtmf` (declared for every call until tools are per agent;
   * on an inbound call it answers the model with an error).
   */
  get tools(): ToolDefinition[] {
    return this.agents.names().some((name) => this.agents.get(name)?.sendDtmf === true)
      ? [this.sendDtmfTool]
      : [];
  }

  /** The routes, for `createApp({ routes })` (which passes its admission policy and refusal log). */
  routes = (admission: CallAdmission, refusals?: RefusalLog): RouteHandler => {
    this.#admission = admission;
    return createOutboundRoutes({
      apiToken: this.#config.apiToken,
      publicUrl: this.#config.publicUrl!,
      admission,
      ...(refusals ? { refusals } : {}),
      dialer: this.dialer,
      agents: this.agents,
      tickets: this.tickets,
      ...(this.campaigns
        ? { campaigns: createCampaignRoutes({ dispatcher: this.campaigns, agents: this.agents }) }
        : {}),
      logger: this.#log,
    });
  };

  /** Stops the queue listener and closes the KV. */
  async close(): Promise<void> {
    await this.campaigns?.stop();
    this.#kv?.close();
    this.#kv = undefined;
    await this.#listening;
  }
}
