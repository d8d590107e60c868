/**
 * The call runner: the thin adapter around one {@link CallCore}. It owns the
 * Twilio media socket, the OpenAI Realtime socket and the timers of one call,
 * turns what happens on them into core inputs, and carries out the core's
 * commands.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { CallCore } from "../core/call_core.ts";
import { type CallCoreOptions, type CallStats } from "../core/call_core_options.ts";
import type { CallCommand, CallInput, CallOutcome, TimerName } from "../core/call_types.ts";
import { RealtimeSockets, type SocketEngine, type SocketFactory } from "./realtime_sockets.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { ToolRuns } from "./tool_runs.ts";
import type { McpMonitor } from "../agents/mcp_monitor.ts";
import { StreamGuard, type StreamGuardOptions } from "../security/limits.ts";
import {
  encodeTwilioMessage,
  parseTwilioMessage,
  type TwilioStart,
} from "../twilio/media_stream_messages.ts";
import type { HangUp } from "../twilio/rest_hang_up.ts";
import type { CallObserver, RelayDirection } from "./call_observer.ts";
import type { OutboundStreams } from "./outbound_streams.ts";
import type { CallSoFar, CallSummary } from "./call_summary.ts";
import type { TransferStep, WarmTransferHandle } from "../transfer/mod.ts";
import type { CheckpointSink } from "./checkpoint_writer.ts";
import { errorMessage } from "../observability/error_message.ts";

/** Dependencies and settings of one call. */
export interface CallRunnerOptions {
  /** The core's settings (session.update, greeting, timings). */
  core: CallCoreOptions;
  /** Full Realtime URL including `?model=`, or GPT-Live's sessions URL. */
  openaiUrl: string;
  /** The engine behind the call's sessions. Default: Realtime. */
  engine?: SocketEngine;
  /** The OpenAI API key, sent in the `Sec-WebSocket-Protocol` header. */
  openaiApiKey: string;
  /** Opens the OpenAI socket. Default: the native `WebSocket`. */
  openSocket?: SocketFactory;
  /** Monotonic clock in ms. Default: `performance.now`. */
  now?: () => number;
  /** Logger of the call (LogTape). */
  logger: Logger;
  /** Hangs up through Twilio REST; undefined: hang up by closing the media socket. */
  hangUp?: HangUp | undefined;
  /** Custom tools the model may call. */
  tools?: readonly ToolDefinition[];
  /** Ms a custom tool may run. Default 10000. */
  toolTimeoutMs?: number;
  /** Watches the MCP events of the session (logs, approval answers); none without MCP servers. */
  mcp?: McpMonitor;
  /**
   * Called as soon as the call's outcome is known, before its sockets close
   * (so `/call-ended` can answer right after Twilio's stream ends).
   */
  onOutcome?: (callSid: string | undefined, outcome: CallOutcome) => void;
  /** Called once when the call is over and both sockets are closed. */
  onFinished?: (summary: CallSummary) => void;
  /** Marks the call as a browser softphone call in its summary. */
  softphone?: boolean;
  /**
   * Checks Twilio's `start` message (e.g. its stream token) before the core
   * sees it: undefined admits the stream, a string refuses it (close code
   * 1008 with that reason). Default: admit every stream.
   */
  admitStart?: (start: TwilioStart) => string | undefined;
  /** Limits on media-stream frames (size, rate, invalid messages). */
  guard?: StreamGuardOptions;
  /** Hears the call's observations for metrics and traces (errors in it are contained). */
  observer?: CallObserver;
  /**
   * Bytes a socket may hold unsent (its `bufferedAmount`) before the call ends
   * because that peer stopped reading. Default {@link DEFAULT_MAX_BUFFERED_BYTES}.
   */
  maxBufferedBytes?: number;
  /**
   * Set for an outbound call's stream (the core then has `awaitAnswer`): its
   * answering-machine result and the end of the stream (see `outbound/`).
   */
  outbound?: OutboundStreams;
  /** The caller context of the call, for an outbound call's next stream after keypad tones. */
  caller?: Readonly<Record<string, unknown>>;
  /**
   * Keeps the call's checkpoint in the shared store (at the stream's start,
   * after each completed turn, and at its end), so the call can go on in a
   * new stream on any instance.
   */
  checkpoint?: CheckpointSink;
  /**
   * Starts the warm transfer the core asks for (`place_transfer`): calls and
   * briefs a person, reports `accepted` or `failed`. Undefined (a softphone
   * call, no Twilio account): every warm transfer fails at once and the agent
   * says the fallback line.
   */
  transfer?: (request: WarmTransferStart) => WarmTransferHandle;
  /**
   * The caller started (`true`) or finished (`false`) typing the keys of a
   * sensitive keypad collection (the recording pauses meanwhile).
   */
  sensitiveKeys?: (typing: boolean) => void;
}

/** What the runner hands to {@link CallRunnerOptions.transfer}. */
export interface WarmTransferStart {
  callSid: string;
  briefing: string;
  onResult(result: "accepted" | "failed"): void;
  onStep(step: TransferStep): void;
}

/** Server events that complete a turn (or part of one): the checkpoint is written after them. */
const CHECKPOINT_EVENTS: ReadonlySet<string> = new Set([
  "response.done",
  "conversation.item.input_audio_transcription.completed",
]);
/** Ms the end of a call waits for its checkpoint before closing the stream. */
const CHECKPOINT_END_WAIT_MS = 1000;

/** Default bound of unsent bytes per socket: about a minute of audio. */
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

const OPEN = 1;
const CONNECTING = 0;
const CLOSED = 3;
/** Ms to wait for Twilio to close the stream after a REST hang-up. */
const HANG_UP_CLOSE_MS = 5000;
/** Ms to wait for Twilio to close the stream after its `stop` before closing it ourselves. */
const STOP_CLOSE_MS = 2000;
/**
 * Ms after ending a call for a stalled peer before the call is reported over
 * even though that socket has not closed: a peer that does not read cannot
 * complete the close handshake, and Deno's WebSocket has no way to abort it.
 */
const STALLED_REPORT_MS = 2000;
/**
 * Ms after the bridge closes the stream before the call is reported over
 * even though Twilio has not answered the close (a dead connection never
 * does, and its TCP retries would hold the call's slot for minutes).
 */
const CLOSE_HANDSHAKE_MS = 5000;

/**
 * Bridges one Twilio media socket to a new OpenAI Realtime session.
 * Construct it right after `Deno.upgradeWebSocket`; it opens the OpenAI
 * socket as soon as the media socket is open (in parallel with Twilio's
 * `start`) to save time, and later ones when the core asks (session renewal,
 * reconnects).
 */
export class CallRunner {
  #core: CallCore;
  #twilio: WebSocket;
  /** OpenAI sockets by generation (two during a session switch). */
  #openai: RealtimeSockets;
  #options: CallRunnerOptions;
  #now: () => number;
  #log: Logger;
  #timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Settles once the call's end is in its checkpoint (or after the wait for it): `done` waits. */
  #endRecorded: Promise<unknown> = Promise.resolve();
  #startedAt: number;
  #startedAtWall = new Date();
  #finish: { outcome: CallOutcome; reason: string } | undefined;
  #reported = false;
  #tools: ToolRuns;
  #guard: StreamGuard;
  #customParameters: Record<string, string> = {};
  #observer: CallObserver | undefined;
  #maxBuffered: number;
  /** A socket over the bound, reported to the core after the current commands. */
  #stalled: "twilio" | "openai" | undefined;
  #stallReported = false;
  /** Reports the call over although a socket has not closed (a stalled or a gone peer). */
  #reportTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stops listening for the AMD result of an outbound call. */
  #stopAmd: (() => void) | undefined;
  #outboundCallSid: string | undefined;
  /** The warm transfer under way (or done), if the model asked for one. */
  #transfer: WarmTransferHandle | undefined;
  #answeredBy: string | undefined;
  /** GPT-Live: the cumulative billed seconds of each session. */
  #liveSeconds = new Map<number, number>();
  /**
   * Resolves when the call is over, both sockets are closed and the call's
   * end is in its checkpoint (or the wait for it, at most 1 s, is over).
   */
  readonly done: Promise<CallSummary>;
  #resolveDone!: (summary: CallSummary) => void;

  /** Starts bridging `twilioSocket` (as returned by `Deno.upgradeWebSocket`). */
  constructor(twilioSocket: WebSocket, options: CallRunnerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#log = options.logger;
    this.#twilio = twilioSocket;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#startedAt = this.#now();
    this.#guard = new StreamGuard(options.guard);
    this.done = new Promise((resolve) => this.#resolveDone = resolve);
    this.#observer = options.observer;
    this.#tools = new ToolRuns({
      tools: options.tools ?? [],
      timeoutMs: options.toolTimeoutMs ?? 10_000,
      callSid: () => this.#core.callSid ?? "",
      // The kind only: never the arguments, the output or an error's text (they may hold secrets).
      onFailure: (tool, kind) => this.#log.warn("Tool {tool} failed: {kind}.", { tool, kind }),
      deliver: (callId, output, run) => {
        if (this.#core.finished) return;
        try {
          this.#observer?.toolFinished?.({ callId, output, ...run }, this.#now());
        } catch (error) {
          this.#observerFailed(error);
        }
        this.#dispatch({ type: "tool_result", callId, output });
      },
      now: this.#now,
    });
    this.#openai = new RealtimeSockets({
      url: options.openaiUrl,
      apiKey: options.openaiApiKey,
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.openSocket ? { openSocket: options.openSocket } : {}),
      now: this.#now,
      log: {
        debug: (m, p) => this.#log.debug(m, p),
        info: (m, p) => this.#log.info(m, p),
        warn: (m, p) => this.#log.warn(m, p),
        error: (m, p) => this.#log.error(m, p),
      },
      on: {
        open: (generation) => this.#dispatch({ type: "openai_open", generation }),
        event: (generation, event, received) => {
          this.#dispatch({ type: "openai_event", event, generation }, received);
          if (event.type === "response.output_audio.delta") {
            this.#relayed("openai_to_caller", received);
          }
        },
        other: (_generation, text, received, socket) => {
          if (this.#options.mcp !== undefined) this.#onMcp(socket, text, received);
        },
        closed: (input) => {
          this.#dispatch(input);
          this.#maybeReport();
        },
        usageSeconds: (generation, seconds) => this.#liveSeconds.set(generation, seconds),
        deadline: (generation, expiresInMs) =>
          this.#dispatch({ type: "openai_deadline", generation, expiresInMs }),
        refused: (failure) => {
          try {
            this.#observer?.openaiRefused?.(failure);
          } catch (error) {
            this.#observerFailed(error);
          }
        },
      },
    });
    this.#core = new CallCore({
      ...options.core,
      customTools: (options.tools ?? []).map((t) => t.declaration.name),
      observations: options.observer !== undefined,
    });

    const begin = () => this.#dispatch({ type: "begin" });
    if (twilioSocket.readyState === OPEN) begin();
    else twilioSocket.addEventListener("open", begin, { once: true });
    twilioSocket.addEventListener("message", (e) => this.#onTwilioMessage(e));
    twilioSocket.addEventListener("close", (e) => {
      this.#dispatch({ type: "twilio_closed", code: e.code });
      this.#maybeReport();
    });
    twilioSocket.addEventListener("error", () => {
      this.#log.debug("Twilio media socket error.");
    });
  }

  /**
   * The server is shutting down: the assistant says a short goodbye and the
   * call ends (`immediate`: it ends now).
   */
  drain(options: { immediate?: boolean } = {}): void {
    this.#dispatch({ type: "drain", immediate: options.immediate ?? false });
  }

  /**
   * The server is shutting down and another instance will resume the call:
   * the stream closes at the next turn boundary (`immediate`: now), after
   * the call's checkpoint is written.
   */
  handOver(options: { immediate?: boolean } = {}): void {
    this.#dispatch({ type: "hand_over", immediate: options.immediate ?? false });
  }

  /** The call's counters so far. */
  get stats(): CallStats {
    return this.#core.stats;
  }

  #onTwilioMessage(e: MessageEvent): void {
    if (this.#core.finished) return; // the stream is closing; nothing more to do
    const received = this.#now();
    const verdict = this.#guard.screen(e.data, received);
    if (verdict.action === "close") {
      this.#dispatch({ type: "refuse", code: verdict.code, reason: verdict.reason });
      return;
    }
    const parsed = parseTwilioMessage(verdict.text);
    if (!parsed.ok) {
      const noted = this.#guard.invalid();
      if (noted.close !== undefined) {
        this.#dispatch({ type: "refuse", ...noted.close });
      } else if (noted.log) {
        // Only the first one: a flood of junk must not flood the logs.
        this.#log.warn(
          "Ignored an invalid media-stream message (further ones are not logged): {error}",
          { error: parsed.error },
        );
      }
      return;
    }
    if (parsed.value.event === "start") {
      this.#log = this.#log.with({
        callSid: parsed.value.callSid,
        streamSid: parsed.value.streamSid,
      });
      const first = this.#core.streamSid === undefined;
      const refusal = first ? this.#options.admitStart?.(parsed.value) : undefined;
      if (refusal !== undefined) {
        this.#dispatch({ type: "refuse", code: 1008, reason: refusal });
        return;
      }
      this.#customParameters = { ...parsed.value.customParameters };
      const outbound = first ? this.#options.outbound : undefined;
      this.#dispatch({ type: "twilio_message", message: parsed.value }, received);
      if (outbound !== undefined) {
        // The AMD result may have arrived already, or comes later (from the callback route).
        this.#outboundCallSid = parsed.value.callSid;
        this.#stopAmd = outbound.answeredBy(parsed.value.callSid, (answeredBy) => {
          this.#answeredBy = answeredBy;
          if (!this.#core.finished) this.#dispatch({ type: "answered_by", answeredBy });
        });
      }
      if (first && !this.#core.finished) this.#started();
      return;
    }
    this.#dispatch({ type: "twilio_message", message: parsed.value }, received);
    if (parsed.value.event === "media") this.#relayed("caller_to_openai", received);
  }

  /** The call's first stream started: observers learn what is known so far. */
  #started(): void {
    if (this.#observer?.started === undefined) return;
    try {
      this.#observer.started(this.#soFar());
    } catch (error) {
      this.#observerFailed(error);
    }
  }

  #relayed(direction: RelayDirection, received: number): void {
    if (this.#observer?.relayed === undefined) return;
    try {
      this.#observer.relayed(direction, this.#now() - received);
    } catch (error) {
      this.#observerFailed(error);
    }
  }

  #observerFailed(error: unknown): void {
    this.#log.warn("Call observer failed: {error}", {
      error: errorMessage(error),
    });
  }

  /** Feeds one input to the core at `now` (the time it was received, when known). */
  #dispatch(input: CallInput, now: number = this.#now()): void {
    let commands: CallCommand[];
    try {
      commands = this.#core.handle(input, now);
    } catch (error) {
      // A bug in the core must end this call, never the process or other calls.
      this.#log.error("Call core failed on {input}: {error}", {
        input: input.type,
        error: error instanceof Error ? error.stack ?? error.message : String(error),
      });
      commands = [{
        type: "finish",
        outcome: "bridge_error",
        reason: "internal error",
        action: "close_stream",
      }];
    }
    for (const command of commands) this.#execute(command);
    this.#maybeCheckpoint(input);
    if (this.#stalled !== undefined && !this.#stallReported) {
      this.#stallReported = true;
      const peer = this.#stalled;
      const bufferedBytes = peer === "twilio"
        ? this.#twilio.bufferedAmount
        : this.#openai.latestBufferedAmount;
      this.#dispatch({ type: "peer_stalled", peer, bufferedBytes });
      clearTimeout(this.#reportTimer); // the stall's bound is the shorter one
      this.#reportTimer = setTimeout(() => this.#maybeReport(true), STALLED_REPORT_MS);
    }
  }

  /** Writes the checkpoint after the stream's start and each completed turn (never per frame). */
  #maybeCheckpoint(input: CallInput): void {
    const checkpoint = this.#options.checkpoint;
    const callSid = this.#core.callSid;
    if (checkpoint === undefined || callSid === undefined || this.#core.finished) return;
    const due = (input.type === "twilio_message" && input.message.event === "start") ||
      input.type === "tool_result" ||
      (input.type === "openai_event" && CHECKPOINT_EVENTS.has(input.event.type));
    if (due) checkpoint.save(callSid, this.#core.conversation.entries);
  }

  #execute(command: CallCommand): void {
    switch (command.type) {
      case "to_twilio":
        if (this.#twilio.readyState === OPEN) {
          this.#twilio.send(encodeTwilioMessage(command.message));
          if (this.#twilio.bufferedAmount > this.#maxBuffered) this.#stalled ??= "twilio";
        }
        return;
      case "to_openai":
        if (this.#openai.send(command.generation, command.event) > this.#maxBuffered) {
          this.#stalled ??= "openai";
        }
        return;
      case "open_openai":
        this.#openai.connect(command.generation);
        return;
      case "close_openai":
        this.#openai.close(command.generation, command.code, command.reason);
        return;
      case "set_timer": {
        this.#clearTimer(command.name);
        const name = command.name;
        this.#timers.set(
          name,
          setTimeout(() => {
            this.#timers.delete(name);
            this.#dispatch({ type: "timer", name });
          }, command.delayMs),
        );
        return;
      }
      case "cancel_timer":
        this.#clearTimer(command.name);
        return;
      case "run_tool":
        this.#tools.run(command.callId, command.name, command.arguments);
        return;
      case "place_transfer":
        this.#placeTransfer(command.briefing);
        return;
      case "sensitive_keys":
        this.#options.sensitiveKeys?.(command.typing);
        return;
      case "log":
        switch (command.level) {
          case "debug":
            this.#log.debug(command.message, command.properties);
            return;
          case "info":
            this.#log.info(command.message, command.properties);
            return;
          case "warning":
            this.#log.warn(command.message, command.properties);
            return;
          case "error":
            this.#log.error(command.message, command.properties);
            return;
        }
        return;
      case "finish":
        this.#onFinish(command);
        return;
      case "observe":
        try {
          this.#observer?.observe(command.event, this.#now());
        } catch (error) {
          this.#observerFailed(error);
        }
        return;
    }
  }

  #placeTransfer(briefing: string): void {
    const report = (result: "accepted" | "failed") => {
      if (!this.#core.finished) this.#dispatch({ type: "transfer_result", result });
    };
    const onStep = (step: TransferStep) => {
      try {
        this.#observer?.transferStep?.(step, this.#now());
      } catch (error) {
        this.#observerFailed(error);
      }
    };
    const callSid = this.#core.callSid;
    if (this.#options.transfer === undefined || callSid === undefined) {
      this.#log.warn(
        "A warm transfer cannot be placed on this call (a softphone call, or no Twilio account and PUBLIC_URL); the assistant says the fallback line.",
      );
      onStep({ step: "not_placed", destination: 1 });
      onStep({ step: "nobody", destination: 1 });
      queueMicrotask(() => report("failed"));
      return;
    }
    this.#transfer?.cancel();
    this.#transfer = this.#options.transfer({ callSid, briefing, onResult: report, onStep });
  }

  #clearTimer(name: TimerName): void {
    const id = this.#timers.get(name);
    if (id !== undefined) clearTimeout(id);
    this.#timers.delete(name);
  }

  /** MCP events are OpenAI's business (it calls the servers): log them, answer approvals. */
  #onMcp(ws: WebSocket, text: string, now: number): void {
    const out = this.#options.mcp!.handle(text, now);
    for (const log of out.logs) {
      if (log.level === "warning") this.#log.warn(log.message, log.properties);
      else if (log.level === "info") this.#log.info(log.message, log.properties);
      else this.#log.debug(log.message, log.properties);
    }
    for (const event of out.send) if (ws.readyState === OPEN) ws.send(JSON.stringify(event));
  }

  #onFinish(command: Extract<CallCommand, { type: "finish" }>): void {
    this.#finish = { outcome: command.outcome, reason: command.reason };
    this.#options.onOutcome?.(this.#core.callSid, command.outcome);
    this.#stopAmd?.();
    // The caller is gone (or the call ended otherwise) while a person's phone rings: end that leg.
    if (command.outcome !== "transferred") this.#transfer?.cancel();
    // After keypad tones the call goes on in its next stream: its checkpoint stays live.
    const goesOn = this.#outboundCallSid !== undefined &&
      this.#options.outbound?.streamEnded(
          this.#outboundCallSid,
          this.#core.conversation.entries,
          this.#options.caller,
        ) ===
        true;
    for (const name of [...this.#timers.keys()]) this.#clearTimer(name);
    this.#tools.abortAll();
    this.#openai.closeAll();
    const callSid = this.#core.callSid;
    // Whether the call is over must be in the shared store before Twilio asks any instance what
    // comes next (the `<Connect action>` request follows the stream's close).
    const checkpoint = this.#options.checkpoint;
    if (checkpoint !== undefined && callSid !== undefined && command.outcome !== "refused") {
      let wait: ReturnType<typeof setTimeout> | undefined;
      this.#endRecorded = Promise.race([
        checkpoint.ended(
          callSid,
          goesOn ? "handed_over" : command.outcome,
          this.#core.conversation.entries,
        ),
        new Promise((resolve) => wait = setTimeout(resolve, CHECKPOINT_END_WAIT_MS)),
      ]).finally(() => {
        clearTimeout(wait);
        this.#carryOut(command, callSid);
      });
      return;
    }
    this.#carryOut(command, callSid);
  }

  /** Ends the call as `command` says: REST hang-up, closing the stream, or waiting for Twilio. */
  #carryOut(command: Extract<CallCommand, { type: "finish" }>, callSid: string | undefined): void {
    const closeTwilio = (code: number, reason: string) => {
      if (this.#twilio.readyState === OPEN || this.#twilio.readyState === CONNECTING) {
        this.#twilio.close(code, reason);
        // A peer that is gone (a dead connection) never answers the close: the call is over
        // anyway, so it is reported after a bounded wait rather than held until TCP gives up.
        this.#reportTimer ??= setTimeout(() => this.#maybeReport(true), CLOSE_HANDSHAKE_MS);
      }
    };
    switch (command.action) {
      case "hang_up":
        if (this.#options.hangUp !== undefined && callSid !== undefined) {
          this.#options.hangUp(callSid).then(
            () => this.#log.info("Hung up through Twilio REST."),
            (error) => {
              this.#log.warn(
                "Twilio REST hang-up failed ({error}); closing the media stream instead.",
                {
                  error: errorMessage(error),
                },
              );
              closeTwilio(1000, "call ended");
            },
          );
          // Twilio closes the stream itself after the hang-up; make sure it does.
          this.#closeTimer = setTimeout(() => closeTwilio(1000, "call ended"), HANG_UP_CLOSE_MS);
        } else {
          closeTwilio(1000, "call ended");
        }
        return;
      case "close_stream":
        closeTwilio(
          command.close?.code ?? 1011,
          command.close?.reason ?? "assistant unavailable",
        );
        return;
      case "none":
        // Twilio sent `stop` and closes the socket itself. Closing first while it still sends
        // makes Deno drop the connection (the peer sees a reset, not a close): wait for it.
        if (this.#twilio.readyState === OPEN) {
          this.#closeTimer = setTimeout(() => closeTwilio(1000, "call ended"), STOP_CLOSE_MS);
        }
        return;
    }
  }

  #maybeReport(force = false): void {
    if (this.#reported || this.#finish === undefined) return;
    const twilioClosed = this.#twilio.readyState === CLOSED;
    const openaiClosed = this.#openai.allClosed;
    if (!force && (!twilioClosed || !openaiClosed)) return;
    this.#reported = true;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    if (this.#reportTimer !== undefined) clearTimeout(this.#reportTimer);
    const summary: CallSummary = {
      ...this.#soFar(),
      outcome: this.#finish.outcome,
      reason: this.#finish.reason,
    };
    try {
      this.#observer?.finished(summary);
    } catch (error) {
      this.#observerFailed(error);
    }
    this.#options.onFinished?.(summary);
    // A server that stops waits for `done`: the end of the call is recorded (at most 1 s) first.
    const resolve = () => this.#resolveDone(summary);
    this.#endRecorded.then(resolve, resolve);
  }

  /** What is known of the call so far (its summary without the ending). */
  #soFar(): CallSoFar {
    return {
      callSid: this.#core.callSid,
      streamSid: this.#core.streamSid,
      startedAt: this.#startedAtWall,
      endedAt: new Date(),
      durationMs: Math.round(this.#now() - this.#startedAt),
      stats: this.#core.stats,
      conversation: this.#core.conversation.entries,
      usage: this.#core.conversation.usage,
      ...(this.#options.engine?.kind === "live"
        ? { liveSeconds: [...this.#liveSeconds.values()].reduce((a, b) => a + b, 0) }
        : {}),
      ...(this.#options.softphone ? { softphone: true } : {}),
      customParameters: this.#customParameters,
      ...(this.#outboundCallSid !== undefined
        ? { outbound: { answeredBy: this.#answeredBy?.slice(0, 40) } }
        : {}),
      ...(this.#transfer !== undefined
        ? { transfer: { mode: "warm" as const, legs: this.#transfer.timeline() } }
        : {}),
    };
  }
}
