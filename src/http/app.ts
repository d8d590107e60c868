/**
 * The HTTP side of the bridge: routes, TwiML answers and the media-stream
 * upgrade. The handler is a plain `(Request, info) => Response` function, so
 * every route except the WebSocket upgrade is testable without a port.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Config } from "../config/mod.ts";
import { twilioCredentials } from "../config/mod.ts";
import { CallOutcomes } from "../bridge/call_outcomes.ts";
import { CallRunner } from "../bridge/call_runner.ts";
import { type CallSummary } from "../bridge/call_summary.ts";
import { type SocketFactory } from "../bridge/realtime_sockets.ts";
import type { AgentBook } from "../agents/agent_book.ts";
import { AgentCalls } from "../agents/agent_calls.ts";
import {
  formatStreamPath,
  parseStreamPath,
  STREAM_PATH_ROOT,
  type StreamPath,
} from "./stream_path.ts";
import { loadWaitingSound } from "../audio/waiting_sound.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { createTwilioHangUp, type HangUp } from "../twilio/rest_hang_up.ts";
import { createSoftphoneRoutes } from "../softphone/softphone_routes.ts";
import { SOFTPHONE_PROTOCOL, SoftphoneTokens } from "../softphone/softphone_token.ts";
import { LiveCalls } from "../softphone/live_calls.ts";
import { connectStreamTwiml, rejectTwiml, streamEndedTwiml } from "../twilio/twiml.ts";
import type { TransferMode } from "../agents/agent_profile.ts";
import type { TransferRelay, TransferReport, TransferResult } from "../transfer/mod.ts";
import { createTransfers } from "./app_transfers.ts";
import { createRecordings, RECORDING_STATUS_PATH, type RecordingReport } from "./app_recordings.ts";
import { CallAdmission } from "../security/call_admission.ts";
import { type RefusalKind, RefusalLog } from "../security/refusal_log.ts";
import type { StreamGuardOptions } from "../security/limits.ts";
import { readSignedWebhook } from "./signed_webhook.ts";
import { type Route, routeRequest } from "./route_table.ts";
import type { OutboundPlug } from "./outbound_plug.ts";
import type { CallObserver } from "../bridge/call_observer.ts";
import { maskPhoneNumber } from "../security/phone_numbers.ts";
import { publicBase } from "./public_base.ts";
import { statusText, text, xml } from "./plain_responses.ts";
import { healthz, type MetricsEndpoint, metricsResponse, readyz } from "./ops_routes.ts";
import type { CallCheckpoint, CallCheckpoints } from "../calls/call_checkpoints.ts";
import { runnerOptions } from "./runner_options.ts";
import type { SharedCallState } from "../calls/shared_call_state.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The paths the server answers. */
export const ROUTES = {
  status: "/",
  incomingCall: "/incoming-call",
  callEnded: "/call-ended",
  /** Media streams: this path and those under it (see `stream_path.ts`). */
  mediaStream: STREAM_PATH_ROOT,
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
  /** A note the softphone page shows above its buttons (the offline demo says it is a stand-in). */
  softphoneNotice?: string;
  /** What the live view shows for a caller turn without words (the offline demo: a stand-in's). */
  softphoneUntranscribedNote?: (speechMs: number | undefined) => string;
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
  /** Outbound calls and campaigns (`outbound/outbound_service.ts`), plugged in with one shape. */
  outbound?: OutboundPlug;
  /** More routes (the demo's listings), tried after the media streams and before the app's own. */
  routes?: readonly Route[];
  /**
   * How each transfer ended (`bridge_transfers_total{mode,result}`, and the
   * `transfer.completed` / `transfer.failed` webhooks from `report`).
   */
  onTransfer?: (mode: TransferMode, result: TransferResult, report: TransferReport) => void;
  /** A call recording finished (Twilio's recording status callback). */
  onRecording?: (report: RecordingReport) => void;
  /**
   * Checkpoints of calls in the shared call store: each Twilio call's
   * conversation is written after every turn, and the `<Connect action>`
   * request resumes a call whose stream was lost (see docs/call-flow.md).
   */
  checkpoints?: CallCheckpoints;
  /** Most times one call is resumed in a new stream (default 3). */
  maxResumes?: number;
  /**
   * Per-call state in the shared call store (the caller context of the
   * context webhook), so the stream of a call finds it on any instance.
   */
  callState?: SharedCallState;
  /**
   * Warm transfers in the shared call store, so Twilio's callbacks about the
   * person's leg work on any instance (see docs/scaling.md).
   */
  transferRelay?: TransferRelay;
}

/** Default of {@link AppOptions.maxResumes}. */
const MAX_RESUMES = 3;

/**
 * Outcomes after which `/call-ended` apologizes (the assistant failed, not the
 * call). A lost stream is among them for when it cannot be resumed (no store).
 */
const APOLOGY_OUTCOMES: ReadonlySet<string> = new Set([
  "openai_error",
  "bridge_error",
  "refused",
  "stream_lost",
]);

/** Outcomes after which the call goes on in a new stream when the store allows it. */
const RESUMABLE_OUTCOMES: ReadonlySet<string> = new Set(["handed_over", "stream_lost"]);

/**
 * `CallStatus` values of a call that is over: Twilio's standard request
 * parameters (sent with the `<Connect action>` request too, twilio.com/docs/voice/twiml/connect
 * and /docs/usage/webhooks/voice-webhooks, read 2026-12-07) say the caller is gone.
 */
const CALL_OVER_STATUSES: ReadonlySet<string> = new Set([
  "completed",
  "canceled",
  "busy",
  "failed",
  "no-answer",
]);

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
  const hangUp = options.hangUp ?? options.outbound?.hangUp ??
    (credentials !== undefined
      ? createTwilioHangUp({ ...credentials, baseUrl: config.twilioApiBaseUrl })
      : undefined);
  const agentCalls = new AgentCalls({
    config,
    ...(options.agents ? { agents: options.agents } : {}),
    ...(options.tools ? { tools: options.tools } : {}),
    ...(options.outbound ? { toolsFor: options.outbound.toolsFor } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.callState ? { shared: options.callState } : {}),
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
  const liveCalls = new LiveCalls(
    options.softphoneUntranscribedNote !== undefined
      ? { untranscribedNote: options.softphoneUntranscribedNote }
      : {},
  );
  const softphone = config.softphone
    ? createSoftphoneRoutes(options.softphoneTokens ?? new SoftphoneTokens(), {
      agents: () => agentCalls.softphoneAgents(),
      live: liveCalls,
      ...(options.softphoneNotice !== undefined ? { notice: options.softphoneNotice } : {}),
      publicUrl: config.publicUrl,
      refusals,
    })
    : undefined;
  const admission = options.admission ?? new CallAdmission(config);
  const outboundRoutes = options.outbound?.routes({
    admission,
    refusals,
    callOut: (call) => agentCalls.callOut(call),
    consent: (agent) => {
      const profile = agentCalls.book.byName(agent);
      return profile === undefined ? undefined : recordings.consent(profile);
    },
  });
  const transfers = createTransfers(config, credentials, agentCalls, admission, {
    logger: log.getChild("transfer"),
    ...(options.now ? { now: options.now } : {}),
    ...(options.onTransfer ? { onTransfer: options.onTransfer } : {}),
    ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
    ...(options.transferRelay ? { relay: options.transferRelay } : {}),
  });
  /** What every call's runner shares (see `runner_options.ts`). */
  const runnerParts = {
    config,
    admission,
    waitingSound,
    hangUp,
    transfers,
    outbound: options.outbound?.streams,
    checkpoints: options.checkpoints,
    callLog,
    ...(options.openSocket ? { openSocket: options.openSocket } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.maxBufferedBytes ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
    ...(options.streamGuard ? { streamGuard: options.streamGuard } : {}),
  };

  const recordings = createRecordings(
    config,
    credentials,
    (request) => signedWebhook(request, RECORDING_STATUS_PATH),
    {
      logger: log.getChild("recording"),
      ...(options.onRecording ? { onRecording: options.onRecording } : {}),
    },
  );

  /** Logs a refused request, at most a few lines per kind and path per window. */
  function logRefused(kind: RefusalKind, path: string): void {
    refusals.refused(kind, path);
  }

  /** Twilio's signed form at `path`, or the answer refusing it (logged and counted). */
  function signedWebhook(request: Request, path: string) {
    return readSignedWebhook(request, {
      admission,
      publicUrl: config.publicUrl,
      refused: (kind) => logRefused(kind, path),
    });
  }

  async function incomingCall(request: Request): Promise<Response> {
    const signed = await signedWebhook(request, ROUTES.incomingCall);
    if (signed instanceof Response) return signed;
    const { form, base } = signed;
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
    const recording = config.callStore !== undefined || config.webhook !== undefined ||
      profile.webhooks.length > 0;
    const from = recording ? form.get("From")?.slice(0, 64) : undefined;
    const consent = recordings.consent(profile);
    return xml(connectStreamTwiml({
      streamUrl: `${base.ws}${streamPath}`,
      actionUrl: `${base.http}${ROUTES.callEnded}`,
      parameters: {
        ...admission.streamParameters(callSid, agentName),
        ...(from ? { caller: config.storeCallerNumbers ? from : maskPhoneNumber(from) } : {}),
      },
      ...(consent !== undefined ? { say: consent } : {}),
    }));
  }

  async function callEnded(request: Request): Promise<Response> {
    const signed = await signedWebhook(request, ROUTES.callEnded);
    if (signed instanceof Response) return signed;
    const { form, base } = signed;
    const callSid = form.get("CallSid") ?? "";
    const outcome = outcomes.get(callSid);
    const status = form.get("CallStatus") ?? "";
    if (CALL_OVER_STATUSES.has(status)) {
      // The caller is gone (Twilio says so): nothing to resume, nobody to apologize to.
      httpLog.info("Media stream ended; the call is over ({status}).", { callSid, status });
      return xml(streamEndedTwiml({ apologize: false }));
    }
    if (
      (outcome === undefined || RESUMABLE_OUTCOMES.has(outcome)) &&
      options.checkpoints !== undefined && callSid !== ""
    ) {
      // The stream ended elsewhere, its instance died, it was handed over or lost: the store knows.
      return xml(await afterLostStream(callSid, options.checkpoints, base));
    }
    // Unknown outcome: something went wrong (e.g. the stream never reached us); apologize.
    const apologize = outcome === undefined || APOLOGY_OUTCOMES.has(outcome);
    httpLog.info("Media stream ended; answering the next TwiML.", {
      callSid: callSid || undefined,
      outcome: outcome ?? "unknown",
      apologize,
    });
    const target = agentCalls.transferTarget(callSid);
    if (outcome === "transferred" && target !== undefined && target.transfer.mode === "cold") {
      // Twilio dials the destinations one by one, then brings the caller back to the agent.
      return xml(transfers.cold.firstDial(callSid, target, base.http));
    }
    return xml(streamEndedTwiml({ apologize }));
  }

  /**
   * The next TwiML of a call whose stream did not end on this instance: a
   * new stream when the call is not over (at most `maxResumes` times), a
   * hang-up when it is, the apology when it cannot go on.
   */
  async function afterLostStream(
    callSid: string,
    checkpoints: CallCheckpoints,
    base: { http: string; ws: string },
  ): Promise<string> {
    const claim = await checkpoints.claimResume(callSid, options.maxResumes ?? MAX_RESUMES)
      .catch((error) => {
        httpLog.error("Could not read the call's checkpoint: {error}", {
          callSid,
          error: errorMessage(error),
        });
        return { verdict: "unknown" as const };
      });
    switch (claim.verdict) {
      case "resume":
        httpLog.info("The call's stream was lost; resuming it in a new stream.", {
          callSid,
          resumes: claim.checkpoint.resumes,
          turns: claim.checkpoint.conversation.length,
        });
        return connectStreamTwiml({
          streamUrl: `${base.ws}${formatStreamPath({ kind: "resumed", callSid })}`,
          actionUrl: `${base.http}${ROUTES.callEnded}`,
          parameters: admission.streamParameters(callSid, claim.checkpoint.agent),
        });
      case "over": {
        httpLog.info("Media stream ended; the call is over ({ending}).", {
          callSid,
          ending: claim.ending ?? "unknown",
        });
        const target = claim.ending === "transferred"
          ? agentCalls.transferTarget(callSid)
          : undefined;
        if (target !== undefined && target.transfer.mode === "cold") {
          return transfers.cold.firstDial(callSid, target, base.http);
        }
        return streamEndedTwiml({
          apologize: claim.ending !== undefined && APOLOGY_OUTCOMES.has(claim.ending),
        });
      }
      case "transferring": {
        // The stream ended with a cold transfer (maybe on another instance): dial.
        const target = agentCalls.coldTransferOf(claim.agent);
        if (target !== undefined) return transfers.cold.firstDial(callSid, target, base.http);
        return streamEndedTwiml({ apologize: false });
      }
      case "cap":
        httpLog.warn("The call's stream was lost again; it was resumed too often, apologizing.", {
          callSid,
        });
        return streamEndedTwiml({ apologize: true });
      case "unknown":
        httpLog.info("Media stream ended; answering the next TwiML.", {
          callSid,
          outcome: "unknown",
          apologize: true,
        });
        return streamEndedTwiml({ apologize: true });
    }
  }

  /**
   * A resumed call's stream (`/media-stream/resumed/<CallSid>`): its
   * checkpoint names the stream the call started on (agent, bound call),
   * the caller context and the conversation.
   */
  async function resumedStream(request: Request, path: string, callSid: string): Promise<Response> {
    const checkpoint = await options.checkpoints?.get(callSid);
    const first = checkpoint === undefined ? undefined : parseStreamPath(checkpoint.streamPath);
    if (
      checkpoint === undefined || checkpoint.state === "over" || first === undefined ||
      first.kind === "resumed" ||
      (first.kind === "outbound" && options.outbound === undefined)
    ) {
      return text("No call to resume here.\n", 404);
    }
    return mediaStream(request, path, first, checkpoint);
  }

  /**
   * The media-stream upgrade at `path` (`stream` is what it names): plain,
   * an agent's, or a call the bridge placed, whose path names the agent
   * that placed it.
   */
  function mediaStream(
    request: Request,
    path: string,
    stream: StreamPath,
    resumed?: CallCheckpoint,
  ): Response {
    // An outbound call's stream path names its agent (a resumed one: the path it started on).
    const outboundPath = stream.kind === "outbound" ? resumed?.streamPath ?? path : undefined;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text("This endpoint expects a WebSocket upgrade from Twilio Media Streams.\n", 426, {
        upgrade: "websocket",
      });
    }
    // A softphone call carries a token issued by this server (see src/softphone/softphone_token.ts)
    // instead of a Twilio signature.
    const softphoneCall = outboundPath === undefined && resumed === undefined
      ? softphone?.admit(request)
      : undefined;
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
    // The agent (and call) named in the signed URL; the stream token must bind the same.
    // A call's stream after keypad tones carries on with the caller context of its earlier one.
    const setup = agentCalls.forStream(
      stream,
      resumed?.caller ?? options.outbound?.streams.callerOf(path),
    );
    const outboundCore = outboundPath === undefined
      ? undefined
      : options.outbound?.streams.coreOptionsFor(outboundPath, setup.caller);
    if (outboundPath !== undefined && outboundCore === undefined) {
      return text("Unknown outbound agent or stream.\n", 404);
    }
    if (calls.size >= config.maxConcurrentCalls) {
      logRefused("busy", ROUTES.mediaStream);
      return text("Too many calls in progress; try again later.\n", 503, { "retry-after": "5" });
    }
    // A Twilio call (inbound or placed) of an agent with `recording:` heard the consent line
    // before its stream: recording starts with the stream; sensitive tools and keys pause it.
    // Not again on a call's later stream (after keypad tones, or resumed elsewhere): the recording
    // started with its first stream goes on. (Read the request before the upgrade.)
    const laterStream = resumed !== undefined ||
      (stream.kind === "outbound" && stream.resumeCallSid !== undefined);
    const recording = !isSoftphone && !laterStream
      ? recordings.forCall(setup.profile, request)
      : undefined;
    // With the silence check on (STREAM_SILENCE_SECONDS), the call finds a dead stream itself:
    // Deno's idle timeout (a ping after 60 s of quiet) would re-arm a timer on every frame.
    const { socket, response } = Deno.upgradeWebSocket(request, {
      ...(isSoftphone ? { protocol: SOFTPHONE_PROTOCOL } : {}),
      ...(config.streamSilenceSeconds > 0 ? { idleTimeout: 0 } : {}),
    });
    if (draining) {
      httpLog.info("Media stream refused: the server is shutting down.");
      options.onCallRejected?.("draining");
      socket.addEventListener("open", () => socket.close(1013, "server shutting down"));
      return response;
    }
    const { profile } = setup;
    const startedAt = (options.now ?? (() => performance.now()))();
    // A softphone call also feeds the page's live view (its channel is named by the token's call).
    const observer = liveCalls.alongside(
      options.observeCall?.(startedAt, { agent: profile.name }),
      softphoneCallSid,
      startedAt,
      { agent: profile.name },
    );
    const runner: CallRunner = new CallRunner(
      socket,
      runnerOptions({
        path,
        stream,
        setup,
        softphone: isSoftphone,
        outboundCore,
        resumed,
        observer,
        ...(softphoneCallSid !== undefined ? { softphoneCallSid } : {}),
        ...(recording !== undefined ? { recording } : {}),
        logger: callLog.with({
          connection: ++connectionSeq,
          ...(isSoftphone ? { softphone: true } : {}),
        }),
      }, {
        ...runnerParts,
        onOutcome: (callSid, outcome) => {
          if (callSid === undefined) return;
          outcomes.record(callSid, outcome);
          if (outcome === "transferred") agentCalls.transferred(callSid, profile);
        },
        onFinished: (summary) => {
          calls.delete(runner);
          options.onCallFinished?.(summary);
        },
      }),
    );
    calls.add(runner);
    return response;
  }

  /** A media-stream path this app serves: what it names, else undefined (404). */
  function servedStream(path: string): StreamPath | undefined {
    const stream = parseStreamPath(path);
    if (stream?.kind === "outbound" && options.outbound === undefined) return undefined;
    if (stream?.kind === "resumed" && options.checkpoints === undefined) return undefined;
    return stream;
  }

  function streamRoute(request: Request, path: string): Response | Promise<Response> {
    const stream = servedStream(path)!;
    if (stream.kind !== "resumed") {
      // What the stream needs may wait on the instance that answered the webhook or served
      // the call's previous stream: bring it here first.
      const bringing = [
        agentCalls.bringContext(stream),
        stream.kind === "outbound" ? options.outbound?.streams.prepare?.(path) : undefined,
      ].filter((p) => p !== undefined);
      return bringing.length === 0
        ? mediaStream(request, path, stream)
        : Promise.all(bringing).then(() => mediaStream(request, path, stream));
    }
    // A resumed call's stream, when calls are checkpointed (see `afterLostStream`).
    return resumedStream(request, path, stream.callSid).catch((error) => {
      httpLog.error("Could not resume a call's stream: {error}", {
        error: errorMessage(error),
      });
      return text("Internal error.\n", 500);
    });
  }

  /** Every route, in the order they are tried (405 and `Allow` come from this table). */
  const routes: Route[] = [
    { test: (path) => servedStream(path) !== undefined, methods: ["GET"], handle: streamRoute },
    ...(softphone ? [{ test: () => true, methods: "any" as const, handle: softphone.handle }] : []),
    { test: () => true, methods: "any", handle: transfers.routes },
    ...(outboundRoutes
      ? [{ test: () => true, methods: "any" as const, handle: outboundRoutes }]
      : []),
    ...options.routes ?? [],
    {
      path: ROUTES.status,
      methods: ["GET", "HEAD"],
      handle: () => statusText(calls.size, ROUTES.incomingCall),
    },
    {
      path: ROUTES.incomingCall,
      methods: ["POST"],
      hint: "Twilio calls this webhook with POST.",
      handle: incomingCall,
    },
    { path: ROUTES.callEnded, methods: ["GET", "POST"], handle: callEnded },
    {
      path: RECORDING_STATUS_PATH,
      methods: ["POST"],
      hint: "Twilio posts recording status callbacks.",
      handle: recordings.status,
    },
    { path: ROUTES.healthz, methods: "any", handle: healthz },
    {
      path: ROUTES.readyz,
      methods: "any",
      // Not ready while draining, nor while OpenAI is known to be failing.
      handle: () =>
        draining
          ? text("draining\n", 503, { "retry-after": "10" })
          : readyz(options.isReady, options.notReadyReason),
    },
    {
      path: ROUTES.metrics,
      methods: ["GET"],
      handle: (request) => metricsResponse(request, options.metrics),
    },
  ];

  function handler(request: Request): Response | Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      return routeRequest(routes, request, path) ?? text("Not found.\n", 404);
    } catch (error) {
      httpLog.error("Request failed: {error}", {
        path,
        error: errorMessage(error),
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
