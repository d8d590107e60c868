/**
 * The OpenAI Realtime sockets of one call, by generation (two while a call
 * switches sessions): opening them with the key in `Sec-WebSocket-Protocol`,
 * parsing what arrives (never-throwing; a few invalid events are logged, the
 * rest ignored), naming why an upgrade was refused (a rejected key is not a
 * network error), sending the events the core addresses to a generation,
 * and closing them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RealtimeSockets } from "./realtime_sockets.ts";
 * const closed: number[] = [];
 * const sockets = new RealtimeSockets({
 *   url: "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime-2.1",
 *   apiKey: "sk-example-not-a-key",
 *   openSocket: () => { throw new Error("no network in this example"); },
 *   now: () => 0,
 *   log: { debug() {}, info() {}, warn() {}, error() {} },
 *   on: {
 *     open() {}, event() {}, refused() {}, other() {},
 *     closed: (input) => closed.push(input.generation),
 *   },
 * });
 * sockets.connect(1);
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * assert.deepEqual(closed, [1]); // reported as closed, never thrown
 * ```
 *
 * @module
 */
import type { CallInput } from "../core/call_types.ts";
import { type ClientEvent, encodeClientEvent } from "../openai/client_events.ts";
import { parseServerEvent, type ServerEvent } from "../openai/server_events.ts";
import { encodeLiveEvent, parseLiveEvent } from "../openai/live_events.ts";
import { LiveEngine, type LiveStep } from "./live_engine.ts";
import {
  classifyUpgradeFailure,
  describeUpgradeFailure,
  type UpgradeFailure,
} from "../openai/upgrade_failure.ts";
import { errorMessage } from "../observability/error_message.ts";

const OPEN = 1;
const CONNECTING = 0;
const CLOSED = 3;

/**
 * Opens a WebSocket; tests inject fakes. Realtime passes the key in
 * `protocols`; GPT-Live in `headers` (`Authorization: Bearer`, its contract).
 */
export type SocketFactory = (
  url: string,
  protocols: string[],
  headers?: Record<string, string>,
) => WebSocket;

/** The engine behind the sockets: Realtime (the default) or GPT-Live through its adapter. */
export type SocketEngine = { kind: "realtime" } | { kind: "live"; backendModel: string };

/** The log lines the sockets write. */
export interface SocketLog {
  debug(message: string, properties?: Record<string, unknown>): void;
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

/** Dependencies of {@link RealtimeSockets}. */
export interface RealtimeSocketsOptions {
  /** Full Realtime URL including `?model=`, or GPT-Live's sessions URL. */
  url: string;
  /** The OpenAI API key (sent in `Sec-WebSocket-Protocol` or the header, never logged). */
  apiKey: string;
  /** Default: Realtime. */
  engine?: SocketEngine;
  openSocket?: SocketFactory;
  now: () => number;
  log: SocketLog;
  on: {
    open(generation: number): void;
    /** A parsed server event of `generation`, received at `received`. */
    event(generation: number, event: ServerEvent, received: number): void;
    /** An event the core does not model (e.g. MCP events), with its text and socket. */
    other(generation: number, text: string, received: number, socket: WebSocket): void;
    closed(input: Extract<CallInput, { type: "openai_closed" }>): void;
    /** The upgrade was refused (a rejected key, an HTTP error, the network). */
    refused(failure: UpgradeFailure): void;
    /** GPT-Live: the cumulative billed seconds of the session of `generation`. */
    usageSeconds?(generation: number, seconds: number): void;
    /** GPT-Live: the session of `generation` ends in `expiresInMs` (`expires_at`). */
    deadline?(generation: number, expiresInMs: number): void;
  };
}

/** The OpenAI sockets of one call. */
export class RealtimeSockets {
  #o: RealtimeSocketsOptions;
  #sockets = new Map<number, WebSocket>();
  /** GPT-Live: the adapter of each session. */
  #live = new Map<number, LiveEngine>();
  #latest = 0;
  #invalid = 0;
  /**
   * The socket and adapter of the generation {@link send} addressed last (a
   * frame goes there 50 times a second): looked up in the maps once, not per
   * frame. Unset whenever the maps change.
   */
  #sendTo:
    | { generation: number; ws: WebSocket | undefined; live: LiveEngine | undefined }
    | undefined;

  /** Creates the (empty) socket set of a call. */
  constructor(options: RealtimeSocketsOptions) {
    this.#o = options;
  }

  /** Whether every socket has closed. */
  get allClosed(): boolean {
    return [...this.#sockets.values()].every((ws) => ws.readyState === CLOSED);
  }

  /** Unsent bytes of the newest socket (for the stall report). */
  get latestBufferedAmount(): number {
    return this.#sockets.get(this.#latest)?.bufferedAmount ?? 0;
  }

  /** Sends `event` to the socket of `generation`; returns its unsent bytes afterwards. */
  send(generation: number, event: ClientEvent): number {
    // The core only addresses open sessions; the socket may still have closed since (its close
    // event is on its way), so check before sending.
    let to = this.#sendTo;
    if (to?.generation !== generation) {
      to = this.#sendTo = {
        generation,
        ws: this.#sockets.get(generation),
        live: this.#live.get(generation),
      };
    }
    const { ws, live } = to;
    if (ws?.readyState !== OPEN) return 0;
    if (live === undefined) {
      ws.send(encodeClientEvent(event));
    } else {
      const step = live.fromCore(event);
      for (const out of step.send) ws.send(encodeLiveEvent(out));
    }
    return ws.bufferedAmount;
  }

  /** Opens the socket of `generation`. */
  connect(generation: number): void {
    this.#latest = Math.max(this.#latest, generation);
    const { on, log } = this.#o;
    const open = this.#o.openSocket ??
      ((url, protocols, headers) =>
        headers === undefined ? new WebSocket(url, protocols) : new WebSocket(url, { headers }));
    const engine = this.#o.engine ?? { kind: "realtime" };
    let ws: WebSocket;
    try {
      ws = engine.kind === "live"
        ? open(this.#o.url, [], { Authorization: `Bearer ${this.#o.apiKey}` })
        : open(this.#o.url, ["realtime", `openai-insecure-api-key.${this.#o.apiKey}`]);
    } catch (error) {
      log.error("Could not open the OpenAI Realtime socket: {error}", {
        error: errorMessage(error),
      });
      queueMicrotask(() =>
        on.closed({
          type: "openai_closed",
          code: 1006,
          reason: "open failed",
          opened: false,
          generation,
        })
      );
      return;
    }
    this.#sockets.set(generation, ws);
    const live = engine.kind === "live"
      ? new LiveEngine({ generation, backendModel: engine.backendModel })
      : undefined;
    if (live !== undefined) this.#live.set(generation, live);
    this.#sendTo = undefined;
    let opened = false;
    let upgradeError: string | undefined;
    ws.addEventListener("open", () => {
      opened = true;
      on.open(generation);
    });
    ws.addEventListener("message", (e) => {
      const received = this.#o.now();
      const data = e.data; // a checked getter: read once per message
      if (typeof data !== "string") {
        this.#noteInvalid("OpenAI sent a binary frame; only JSON text frames are expected.");
        return;
      }
      if (live !== undefined) {
        this.#onLive(generation, ws, live, data, received);
        return;
      }
      const parsed = parseServerEvent(data);
      if (!parsed.ok) {
        this.#noteInvalid(parsed.error);
        return;
      }
      on.event(generation, parsed.event, received);
      if (parsed.event.type === "other") on.other(generation, data, received, ws);
    });
    ws.addEventListener("close", (e) => {
      const failure = opened ? undefined : classifyUpgradeFailure(upgradeError);
      if (failure !== undefined) this.#refused(failure);
      if (this.#sockets.get(generation) === ws) {
        this.#sockets.delete(generation);
        this.#live.delete(generation);
        this.#sendTo = undefined;
      }
      on.closed({
        type: "openai_closed",
        code: e.code,
        reason: e.reason.slice(0, 200),
        opened,
        generation,
        ...(failure?.kind === "auth" ? { failure: "auth" as const } : {}),
      });
    });
    ws.addEventListener("error", (e) => {
      // Deno reports a refused upgrade's HTTP status only here, not in the close event.
      if (e instanceof ErrorEvent) upgradeError = e.message;
      log.debug("OpenAI socket error event.");
    });
  }

  /** Closes the socket of `generation` (an old session after a switch). */
  close(generation: number, code: number, reason: string): void {
    const ws = this.#sockets.get(generation);
    if (ws !== undefined) this.#closeSession(generation, ws, code, reason);
  }

  /** Closes every socket (the call is over). */
  closeAll(): void {
    for (const [generation, ws] of this.#sockets) {
      this.#closeSession(generation, ws, 1000, "call ended");
    }
  }

  /** GPT-Live sessions end with `session.close` (it finalizes usage) before the socket closes. */
  #closeSession(generation: number, ws: WebSocket, code: number, reason: string): void {
    if (this.#live.has(generation) && ws.readyState === OPEN) {
      ws.send(encodeLiveEvent({ type: "session.close" }));
    }
    closeSocket(ws, code, reason);
  }

  /** One GPT-Live frame: through the session's adapter to the core (and back to GPT-Live). */
  #onLive(
    generation: number,
    ws: WebSocket,
    live: LiveEngine,
    text: string,
    received: number,
  ): void {
    const parsed = parseLiveEvent(text);
    if (!parsed.ok) {
      this.#noteInvalid(parsed.error);
      return;
    }
    let step: LiveStep;
    try {
      step = live.fromEngine(parsed.event);
    } catch (error) {
      this.#o.log.error("GPT-Live adapter failed on {event}: {error}", {
        event: parsed.event.type,
        error: errorMessage(error),
      });
      closeSocket(ws, 1011, "adapter error");
      return;
    }
    if (step.started !== undefined) {
      this.#o.log.info("GPT-Live session {sessionId} started.", {
        sessionId: step.started.sessionId,
        expiresAt: step.started.expiresAt,
      });
    }
    for (const out of step.send) if (ws.readyState === OPEN) ws.send(encodeLiveEvent(out));
    const expiresAt = step.started?.expiresAt;
    if (expiresAt !== undefined) this.#o.on.deadline?.(generation, expiresAt * 1000 - Date.now());
    for (const event of step.events) this.#o.on.event(generation, event, received);
    if (step.usageSeconds !== undefined) this.#o.on.usageSeconds?.(generation, step.usageSeconds);
    if (step.closed !== undefined) {
      this.#o.log.info("GPT-Live closed the session ({reason}).", { reason: step.closed });
      closeSocket(ws, 1000, `session closed: ${step.closed}`.slice(0, 100));
    }
  }

  /** The OpenAI upgrade failed: say why (never the key) and tell the runner. */
  #refused(failure: UpgradeFailure): void {
    const status = failure.kind === "network" ? undefined : failure.status;
    if (failure.kind === "auth") this.#o.log.error(describeUpgradeFailure(failure), { status });
    else this.#o.log.warn(describeUpgradeFailure(failure), { status });
    this.#o.on.refused(failure);
  }

  #noteInvalid(error: string): void {
    // The first few only, so a misbehaving peer cannot flood the logs.
    this.#invalid++;
    if (this.#invalid <= 3) {
      this.#o.log.warn("Ignored an invalid OpenAI event ({count} so far): {error}", {
        error,
        count: this.#invalid,
      });
    }
  }
}

/** Closes a socket that is open or still connecting; never throws. */
function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === OPEN || ws.readyState === CONNECTING) {
    try {
      ws.close(code, reason);
    } catch {
      // Closing a socket that is still connecting can throw in some runtimes.
    }
  }
}
