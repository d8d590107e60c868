/**
 * The HTTP side of the bridge: routes, TwiML answers and the media-stream
 * upgrade. The handler is a plain `(Request, info) => Response` function, so
 * every route except the WebSocket upgrade is testable without a port.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Config } from "../config_types.ts";
import { coreTimings, twilioCredentials } from "../config.ts";
import { CallOutcomes } from "../bridge/call_outcomes.ts";
import {
  CallRunner,
  type CallSummary,
  type OutboundStreams,
  type SocketFactory,
} from "../bridge/call_runner.ts";
import type { AgentBook } from "../agents/agent_book.ts";
import { AGENT_STREAM_PREFIX, AgentCalls } from "../agents/agent_calls.ts";
import { McpMonitor } from "../agents/mcp_monitor.ts";
import { loadWaitingSound } from "../audio/waiting_sound.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { createTwilioHangUp, type HangUp } from "../twilio/rest_hang_up.ts";
import { createSoftphoneRoutes } from "../softphone/softphone_routes.ts";
import { SOFTPHONE_PROTOCOL, SoftphoneTokens } from "../softphone/softphone_token.ts";
import { LiveCalls } from "../softphone/live_calls.ts";
import {
  connectStreamTwiml,
  rejectTwiml,
  streamEndedTwiml,
  transferTwiml,
} from "../twilio/twiml.ts";
import { CallAdmission } from "../security/call_admission.ts";
import { type RefusalKind, RefusalLog } from "../security/refusal_log.ts";
import {
  MAX_WEBHOOK_BODY_BYTES,
  readCappedText,
  type StreamGuardOptions,
} from "../security/limits.ts";
import type { CallObserver } from "../bridge/call_observer.ts";
import type { CallCoreOptions } from "../core/call_core_options.ts";
import { maskPhoneNumber } from "../security/phone_numbers.ts";
import { publicBase } from "./public_base.ts";
import { statusText, text, xml } from "./plain_responses.ts";
import { healthz, type MetricsEndpoint, metricsResponse, readyz } from "./ops_routes.ts";

/** The paths the server answers. */
export const ROUTES = {
  status: "/",
  incomingCall: "/incoming-call",
  callEnded: "/call-ended",
  mediaStream: "/media-stream",
  /** Prefix of a stream bound to an agent of the agents file (see `agents/agent_calls.ts`). */
  agentMediaStream: AGENT_STREAM_PREFIX,
  healthz: "/healthz",
  readyz: "/readyz",
  metrics: "/metrics",
} as const;

/** Dependencies of {@link createApp}; tests inject fakes. */
export interface AppOptions {
  config: Config;
  /** Opens the OpenAI socket. Default: native `WebSocket`. */
  openSocket?: SocketFactory;
  /** Twilio REST hang-up. Default: from the Twilio credentials of `config` when both are set. */
  hangUp?: HangUp;
  /** Custom tools besides `end_call` (every agent gets them, before its own). */
  tools?: readonly ToolDefinition[];
  /**
   * The agents (see docs/agents.md), read at each call so that a reload
   * applies to new calls. Default: the environment's single agent.
   */
  agents?: { readonly book: AgentBook };
  /** `fetch` of HTTP tools and context webhooks (tests). Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Monotonic clock in ms. */
  now?: () => number;
  /** Root logger. Default: LogTape category `["bridge"]`. */
  logger?: Logger;
  /** Called when a call is over. */
  onCallFinished?: (summary: CallSummary) => void;
  /** Softphone token issuer (when `config.softphone`); default: a fresh one. */
  softphoneTokens?: SoftphoneTokens;
  /** Who may start a call. Default: from `config` (signatures, stream tokens). */
  admission?: CallAdmission;
  /**
   * Creates the observer of each call (metrics, traces, records); `startedAt`
   * on the `now` clock, `call.agent` the name of the agent taking the call.
   */
  observeCall?: (startedAt: number, call: { agent: string }) => CallObserver;
  /** Serves `GET /metrics` (404 when undefined). */
  metrics?: MetricsEndpoint;
  /** Readiness for `GET /readyz`. Default: always ready. */
  isReady?: () => boolean;
  /** Why the server is not ready, shown by `GET /readyz` when `isReady` is false. */
  notReadyReason?: () => string | undefined;
  /**
   * Called once for every call attempt turned away: busy or draining at the
   * webhook, a refused signature, or a refused media-stream upgrade.
   */
  onCallRejected?: (reason: RefusalKind | "draining") => void;
  /** Unsent bytes per socket before a call ends because its peer stopped reading (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Limits on media-stream frames (size, rate, invalid messages); defaults in `security/limits.ts`. */
  streamGuard?: StreamGuardOptions;
  /**
   * Extra routes (outbound calls, campaigns; see `outbound/outbound_service.ts`), built with the
   * app's admission policy so their TwiML carries stream tokens this app accepts, and its log of
   * refused requests (one throttle for every route).
   */
  routes?: (admission: CallAdmission, refusals: RefusalLog) => RouteHandler;
  /**
   * Outbound calls: the core settings of each outbound stream (by its path
   * under {@link OUTBOUND_STREAM_PREFIX}), its AMD result and its end.
   */
  outboundStreams?: OutboundStreamRoutes;
}

/** Media streams of outbound calls: `/media-stream/outbound/<agent>[/resume/<CallSid>]`. */
export const OUTBOUND_STREAM_PREFIX = "/media-stream/outbound/";

/** {@link OutboundStreams} plus the core settings of each outbound stream path. */
export interface OutboundStreamRoutes extends OutboundStreams {
  /** The core options of the stream at `path`, or undefined when it names no known agent. */
  coreOptionsFor(path: string): Partial<CallCoreOptions> | undefined;
}

/** Extra routes: a response, or undefined when the path is not theirs. */
export type RouteHandler = (
  request: Request,
  path: string,
) => Response | Promise<Response> | undefined;

/** The bridge application: an HTTP handler plus its live calls. */
export interface App {
  /** Handles one HTTP request (including the media-stream upgrade). */
  handler: (request: Request) => Response | Promise<Response>;
  /** Calls in progress. */
  readonly calls: ReadonlySet<CallRunner>;
  /** How recent streams ended (for `/call-ended`). */
  readonly outcomes: CallOutcomes;
  /** Whether the app stopped taking new calls (see {@link App.stopAccepting}). */
  readonly draining: boolean;
  /**
   * Stops taking new calls: the webhook rejects calls as busy, new media
   * streams are closed with 1013 and `/readyz` answers 503. Calls in progress
   * go on.
   */
  stopAccepting(): void;
  /** The softphone's live-view channels (the server ends their streams before it stops). */
  readonly liveCalls: LiveCalls;
}

/** The form body, or undefined when it is larger than {@link MAX_WEBHOOK_BODY_BYTES}. */
async function readForm(request: Request): Promise<URLSearchParams | undefined> {
  const body = await readCappedText(request, MAX_WEBHOOK_BODY_BYTES);
  return body.ok ? new URLSearchParams(body.text) : undefined;
}

export { publicBase } from "./public_base.ts";

const TOO_LARGE = "Request body too large.\n";
const FORBIDDEN = "Forbidden: this endpoint only accepts requests signed by Twilio.\n";

/**
 * Creates the bridge application.
 *
 * @example
 * ```ts ignore
 * import { createApp } from "./app.ts";
 * const app = createApp({ config });
 * Deno.serve({ port: 5050 }, app.handler);
 * ```
 */
export function createApp(options: AppOptions): App {
  const { config } = options;
  const log = options.logger ?? getLogger(["bridge"]);
  const httpLog = log.getChild("http");
  const callLog = log.getChild("call");
  const calls = new Set<CallRunner>();
  const outcomes = new CallOutcomes();
  const credentials = twilioCredentials(config);
  const hangUp = options.hangUp ??
    (credentials !== undefined
      ? createTwilioHangUp({ ...credentials, baseUrl: config.twilioApiBaseUrl })
      : undefined);
  const agentCalls = new AgentCalls({
    config,
    ...(options.agents ? { agents: options.agents } : {}),
    ...(options.tools ? { tools: options.tools } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    logger: log.getChild("agents"),
  });
  // Read once at start-up (the configuration checked that the file is readable).
  const waitingSound = loadWaitingSound(config.waitingSound) ?? [];
  let connectionSeq = 0;
  let draining = false;
  const refusals = new RefusalLog({
    warn: (message, properties) => httpLog.warn(message, properties),
    onRefused: (kind) => options.onCallRejected?.(kind),
  });
  const liveCalls = new LiveCalls();
  const softphone = config.softphone
    ? createSoftphoneRoutes(options.softphoneTokens ?? new SoftphoneTokens(), {
      agents: () => agentCalls.softphoneAgents(),
      live: liveCalls,
      publicUrl: config.publicUrl,
      refusals,
    })
    : undefined;
  const admission = options.admission ?? new CallAdmission(config);
  const extraRoutes = options.routes?.(admission, refusals);

  /** Logs a refused request, at most a few lines per kind and path per window. */
  function logRefused(kind: RefusalKind, path: string): void {
    refusals.refused(kind, path);
  }

  async function incomingCall(request: Request): Promise<Response> {
    const base = publicBase(request, config.publicUrl);
    if (base === undefined) return text("Bad Host header.\n", 400);
    const form = await readForm(request);
    if (form === undefined) {
      logRefused("too_large", ROUTES.incomingCall);
      return text(TOO_LARGE, 413);
    }
    const refusal = admission.checkWebhook(request, form, base.http);
    if (refusal !== undefined) {
      logRefused(refusal, ROUTES.incomingCall);
      return text(FORBIDDEN, 403);
    }
    const callSid = form.get("CallSid");
    if (draining) {
      httpLog.info("Incoming call rejected as busy: the server is shutting down.");
      options.onCallRejected?.("draining");
      return xml(rejectTwiml("busy"));
    }
    if (calls.size >= config.maxConcurrentCalls) {
      logRefused("busy", ROUTES.incomingCall);
      return xml(rejectTwiml("busy"));
    }
    // The agent is chosen by the called number; with an agents file, its name
    // goes into the stream URL (signed by Twilio) and the stream token.
    const { profile, streamPath, agentName } = await agentCalls.answer({
      callSid,
      from: form.get("From"),
      to: form.get("To"),
    });
    httpLog.info("Incoming call; answering with a media stream.", {
      callSid: callSid ?? undefined,
      agent: profile.name,
    });
    // The media stream does not carry the caller's number: pass it (masked
    // unless STORE_CALLER_NUMBERS=true) for the call record, if records are
    // kept. Never logged.
    const recording = config.callStore !== undefined || config.callRecordWebhook !== undefined;
    const from = recording ? form.get("From")?.slice(0, 64) : undefined;
    return xml(connectStreamTwiml({
      streamUrl: `${base.ws}${streamPath}`,
      actionUrl: `${base.http}${ROUTES.callEnded}`,
      parameters: {
        ...admission.streamParameters(callSid, agentName),
        ...(from ? { caller: config.storeCallerNumbers ? from : maskPhoneNumber(from) } : {}),
      },
    }));
  }

  async function callEnded(request: Request): Promise<Response> {
    const base = publicBase(request, config.publicUrl);
    if (base === undefined) return text("Bad Host header.\n", 400);
    const form = request.method === "POST"
      ? await readForm(request)
      : new URL(request.url).searchParams;
    if (form === undefined) {
      logRefused("too_large", ROUTES.callEnded);
      return text(TOO_LARGE, 413);
    }
    const refusal = admission.checkWebhook(request, form, base.http);
    if (refusal !== undefined) {
      logRefused(refusal, ROUTES.callEnded);
      return text(FORBIDDEN, 403);
    }
    const callSid = form.get("CallSid") ?? "";
    const outcome = outcomes.get(callSid);
    // Unknown outcome: something went wrong (e.g. the stream never reached us); apologize.
    const apologize = outcome === undefined || outcome === "openai_error" ||
      outcome === "bridge_error" || outcome === "refused";
    httpLog.info("Media stream ended; answering the next TwiML.", {
      callSid: callSid || undefined,
      outcome: outcome ?? "unknown",
      apologize,
    });
    const transferTo = agentCalls.transferTarget(callSid);
    if (outcome === "transferred" && transferTo !== undefined) {
      return xml(transferTwiml(transferTo));
    }
    return xml(streamEndedTwiml({ apologize }));
  }

  /**
   * The media-stream upgrade at `path`: `/media-stream`, an agent's
   * `/media-stream/agent/…`, or with `outbound` a call the bridge placed
   * (`/media-stream/outbound/…`, whose path names its outbound agent).
   */
  function mediaStream(request: Request, path: string, outbound = false): Response {
    const outboundPath = outbound ? path : undefined;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text("This endpoint expects a WebSocket upgrade from Twilio Media Streams.\n", 426, {
        upgrade: "websocket",
      });
    }
    // A softphone call carries a token issued by this server (see src/softphone/softphone_token.ts)
    // instead of a Twilio signature.
    const softphoneCall = outboundPath === undefined ? softphone?.admit(request) : undefined;
    if (softphoneCall?.ok === false && softphoneCall.reason === "foreign_host") {
      logRefused("foreign_host", ROUTES.mediaStream);
      return text("Forbidden: the softphone only answers localhost or PUBLIC_URL's host.\n", 403);
    }
    if (softphoneCall?.ok === false) {
      httpLog.warn("Refused a softphone media stream: the token is {reason}.", {
        reason: softphoneCall.reason,
        softphone: true,
      });
      return text("The softphone token is invalid, expired or used; reload the page.\n", 401);
    }
    const isSoftphone = softphoneCall !== undefined;
    const softphoneCallSid = softphoneCall?.ok ? softphoneCall.callSid : undefined;
    if (!isSoftphone) {
      const base = publicBase(request, config.publicUrl);
      if (base === undefined) return text("Bad Host header.\n", 400);
      const refusal = admission.checkUpgrade(request, `${base.ws}${path}`);
      if (refusal !== undefined) {
        logRefused(refusal, ROUTES.mediaStream);
        return text(FORBIDDEN, 403);
      }
    }
    const outboundCore = outboundPath === undefined
      ? undefined
      : options.outboundStreams?.coreOptionsFor(outboundPath);
    if (outboundPath !== undefined && outboundCore === undefined) {
      return text("Unknown outbound agent or stream.\n", 404);
    }
    if (calls.size >= config.maxConcurrentCalls) {
      logRefused("busy", ROUTES.mediaStream);
      return text("Too many calls in progress; try again later.\n", 503, { "retry-after": "5" });
    }
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      isSoftphone ? { protocol: SOFTPHONE_PROTOCOL } : {},
    );
    if (draining) {
      httpLog.info("Media stream refused: the server is shutting down.");
      options.onCallRejected?.("draining");
      socket.addEventListener("open", () => socket.close(1013, "server shutting down"));
      return response;
    }
    // The agent (and call) named in the signed URL; the stream token must bind the same.
    const setup = agentCalls.forStream(outbound ? ROUTES.mediaStream : path);
    const { profile } = setup;
    const transfer = profile.transfers[0];
    const startedAt = (options.now ?? (() => performance.now()))();
    // A softphone call also feeds the page's live view (its channel is named by the token's call).
    const observer = liveCalls.alongside(
      options.observeCall?.(startedAt, { agent: profile.name }),
      softphoneCallSid,
      startedAt,
      { agent: profile.name },
    );
    const runner = new CallRunner(socket, {
      core: {
        sessionUpdate: setup.sessionUpdate,
        greeting: setup.greeting,
        interruptResponse: profile.turnDetection.interruptResponse,
        recordKeypadDigits: profile.recordKeypadDigits,
        showTimingMath: config.showTimingMath,
        transferEnabled: transfer !== undefined,
        ...(transfer !== undefined ? { transferToolName: transfer.name } : {}),
        prompts: setup.prompts,
        waitingSound,
        ...coreTimings(config),
        ...outboundCore,
      },
      // Softphone calls were admitted by their token; Twilio streams need a valid stream token.
      admitStart: (start) => {
        // A softphone call is the one its token was issued for: no other CallSid (a real call's).
        if (isSoftphone) {
          return start.callSid === softphoneCallSid ? undefined : "softphone call mismatch";
        }
        if (setup.agentName !== undefined && start.customParameters.agent !== setup.agentName) {
          return "stream agent mismatch";
        }
        if (setup.callSid !== undefined && start.callSid !== setup.callSid) {
          return "stream call mismatch";
        }
        return admission.admitStart(start);
      },
      openaiUrl: setup.openaiUrl,
      openaiApiKey: config.openaiApiKey,
      ...(options.openSocket ? { openSocket: options.openSocket } : {}),
      ...(options.now ? { now: options.now } : {}),
      logger: callLog.with({
        connection: ++connectionSeq,
        ...(isSoftphone ? { softphone: true } : {}),
      }),
      hangUp: isSoftphone ? undefined : hangUp,
      softphone: isSoftphone,
      tools: setup.tools,
      ...(profile.mcpServers.length > 0 ? { mcp: new McpMonitor(profile.mcpServers) } : {}),
      ...(observer ? { observer } : {}),
      ...(options.maxBufferedBytes ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
      ...(options.streamGuard ? { guard: options.streamGuard } : {}),
      ...(outboundCore !== undefined && options.outboundStreams
        ? { outbound: options.outboundStreams }
        : {}),
      onOutcome: (callSid, outcome) => {
        if (callSid === undefined) return;
        outcomes.record(callSid, outcome);
        if (outcome === "transferred") agentCalls.transferred(callSid, profile);
      },
      onFinished: (summary) => {
        calls.delete(runner);
        options.onCallFinished?.(summary);
      },
    });
    calls.add(runner);
    return response;
  }

  function handler(request: Request): Response | Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      if (path.startsWith(OUTBOUND_STREAM_PREFIX) && options.outboundStreams !== undefined) {
        return request.method === "GET"
          ? mediaStream(request, path, true)
          : text("Method not allowed.\n", 405, { allow: "GET" });
      }
      const softphoneResponse = softphone?.handle(request, path);
      if (softphoneResponse !== undefined) return softphoneResponse;
      const extraResponse = extraRoutes?.(request, path);
      if (extraResponse !== undefined) return extraResponse;
      switch (path) {
        case ROUTES.status:
          return request.method === "GET" || request.method === "HEAD"
            ? statusText(calls.size, ROUTES.incomingCall)
            : text("Method not allowed.\n", 405, { allow: "GET, HEAD" });
        case ROUTES.incomingCall:
          return request.method === "POST"
            ? incomingCall(request)
            : text("Method not allowed: Twilio calls this webhook with POST.\n", 405, {
              allow: "POST",
            });
        case ROUTES.callEnded:
          return request.method === "POST" || request.method === "GET"
            ? callEnded(request)
            : text("Method not allowed.\n", 405, { allow: "GET, POST" });
        case ROUTES.mediaStream:
          return request.method === "GET"
            ? mediaStream(request, path)
            : text("Method not allowed.\n", 405, { allow: "GET" });
        case ROUTES.healthz:
          return healthz();
        case ROUTES.readyz:
          // Not ready while draining, nor while OpenAI is known to be failing.
          return draining
            ? text("draining\n", 503, { "retry-after": "10" })
            : readyz(options.isReady, options.notReadyReason);
        case ROUTES.metrics:
          return request.method === "GET"
            ? metricsResponse(request, options.metrics)
            : text("Method not allowed.\n", 405, { allow: "GET" });
        default:
          if (path.startsWith(ROUTES.agentMediaStream) && request.method === "GET") {
            return mediaStream(request, path);
          }
          return text("Not found.\n", 404);
      }
    } catch (error) {
      httpLog.error("Request failed: {error}", {
        path,
        error: error instanceof Error ? error.message : String(error),
      });
      return text("Internal error.\n", 500);
    }
  }

  return {
    handler,
    calls,
    outcomes,
    get draining() {
      return draining;
    },
    stopAccepting() {
      draining = true;
    },
    liveCalls,
  };
}
