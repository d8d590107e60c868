/**
 * The live view of softphone calls: what the page shows while the call runs
 * (transcripts, tool calls with their results and durations, per-turn
 * latency, barge-ins), sent to it as Server-Sent Events.
 *
 * Each softphone call gets a channel named by its call SID. The call's
 * observer (see {@link LiveCalls.observeCall}) turns the core's observations
 * into {@link LiveEvent}s; the page's `EventSource`
 * (`GET /softphone/events?token=…`, see `softphone_routes.ts`) receives every
 * event of the call so far, then each new one, and the stream closes after
 * the `ended` event. Only the call id, the agent's name, transcripts and tool
 * traffic go on the channel: never phone numbers, tokens or keys. Tool
 * arguments and outputs are capped at {@link LIVE_TEXT_CAP_BYTES}.
 *
 * @example
 * ```ts
 * import { LiveCalls } from "./live_calls.ts";
 * const live = new LiveCalls();
 * const body = live.subscribe("SP1");
 * const observer = live.observeCall("SP1", 0, { agent: "front-desk" });
 * observer.observe({ kind: "caller_transcript", itemId: "item_1", text: "Hello" }, 900);
 * observer.finished({ outcome: "caller_hung_up", durationMs: 1200 } as Parameters<typeof observer.finished>[0]);
 * const text = await new Response(body).text();
 * if (!text.includes('"text":"Hello"') || !text.includes('"type":"ended"')) throw new Error(text);
 * ```
 *
 * @module
 */
import { type CallObserver, combineObservers, type ToolFinished } from "../bridge/call_observer.ts";
import type { CallObservation } from "../core/call_types.ts";
import type { CallOutcome } from "../core/call_types.ts";
import { noWordsNote } from "../core/conversation_log.ts";

/** Most bytes of a tool's arguments or output sent to the page. */
export const LIVE_TEXT_CAP_BYTES = 2048;

/** One thing the page shows; `t` is ms since the call started. */
export type LiveEvent =
  | { type: "call"; callId: string; agent?: string; t: number }
  /** The caller stopped speaking (OpenAI's VAD): a turn ends, its latency clock starts. */
  | { type: "caller_stopped"; t: number }
  /**
   * A caller turn's words ("" when the transcription heard none); `speechMs` when the
   * transcription reported its length; `note` what the page shows for a turn without words.
   */
  | { type: "caller"; itemId: string; text: string; speechMs?: number; note?: string; t: number }
  /** The first audio of an assistant item; `latencyMs` from the caller stopping, when they had. */
  | { type: "assistant_audio"; itemId: string; responseId: string; latencyMs?: number; t: number }
  /** The assistant item's full transcript (what was sent; see `truncated`). */
  | { type: "assistant"; itemId: string; text: string; t: number }
  /** A barge-in cut the item: the caller heard `heardMs` of `sentMs`. */
  | { type: "truncated"; itemId: string; heardMs: number; sentMs: number; t: number }
  | { type: "barge_in"; t: number }
  /**
   * Caller speech that was not an interruption: the assistant went on from
   * `resumedAtMs` of `resumedItemId` (shown struck through: it did not cut).
   */
  | (
    & { type: "false_interruption"; t: number }
    & Omit<Extract<CallObservation, { kind: "false_interruption" }>, "kind">
  )
  | { type: "tool_call"; callId: string; name: string; arguments: string; t: number }
  | {
    type: "tool_result";
    callId: string;
    name: string;
    output: string;
    durationMs: number;
    failed: boolean;
    t: number;
  }
  /** A step of a warm transfer (`destination` 1-based; no number is sent). */
  | { type: "transfer"; step: string; destination: number; t: number }
  | { type: "ended"; outcome: CallOutcome; t: number };

/** Options of {@link LiveCalls}. */
export interface LiveCallsOptions {
  /**
   * Channels kept (live and recently ended); the oldest ended go first, then pages waiting for a
   * call; a live call's never. Default 100.
   */
  maxChannels?: number;
  /** Bytes of events kept per call for late subscribers (the `ended` event always). Default 256 KiB. */
  maxBytes?: number;
  /** Ms a channel with subscribers but no call lives (the token's lifetime). Default 60 000. */
  idleMs?: number;
  /**
   * Ms between comment lines sent to every open stream, so that proxies with an idle timeout
   * (nginx's `proxy_read_timeout` is 60 s) do not cut a quiet live view. Default 15 000.
   */
  keepAliveMs?: number;
  /**
   * What the page shows for a caller turn without words, from its length (ms) when reported.
   * Default: "(N s of speech, no words transcribed)". The offline demo says its stand-in does
   * not transcribe.
   */
  untranscribedNote?: (speechMs: number | undefined) => string;
}

interface Channel {
  frames: Uint8Array[];
  bytes: number;
  subscribers: Set<ReadableStreamDefaultController<Uint8Array>>;
  started: boolean;
  ended: boolean;
  idle: ReturnType<typeof setTimeout> | undefined;
}

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

/**
 * `text` cut to at most `maxBytes` of UTF-8, marked when cut.
 *
 * @example
 * ```ts
 * import { capText } from "./live_calls.ts";
 * if (capText("abcdef", 3) !== "abc… (6 bytes, cut)") throw new Error();
 * ```
 */
export function capText(text: string, maxBytes = LIVE_TEXT_CAP_BYTES): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  const head = new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, "");
  return `${head}… (${bytes.length} bytes, cut)`;
}

function stringify(output: unknown): string {
  if (typeof output === "string") return output;
  try {
    return JSON.stringify(output) ?? String(output);
  } catch {
    return String(output);
  }
}

/** The live-view channels of the softphone calls of one server. */
export class LiveCalls {
  #channels = new Map<string, Channel>();
  #maxChannels: number;
  #maxBytes: number;
  #idleMs: number;
  #keepAliveMs: number;
  #untranscribedNote: (speechMs: number | undefined) => string;
  /** Runs while any stream is open: one timer for all of them. */
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  /** Creates an empty set of channels. */
  constructor(options: LiveCallsOptions = {}) {
    this.#maxChannels = options.maxChannels ?? 100;
    this.#maxBytes = options.maxBytes ?? 256 * 1024;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#keepAliveMs = options.keepAliveMs ?? 15_000;
    this.#untranscribedNote = options.untranscribedNote ?? noWordsNote;
  }

  /** Starts the keep-alive timer when the first stream opens, stops it after the last one. */
  #updateKeepAlive(): void {
    const open = [...this.#channels.values()].some((c) => c.subscribers.size > 0);
    if (open && this.#keepAlive === undefined) {
      this.#keepAlive = setInterval(() => {
        for (const channel of this.#channels.values()) {
          for (const controller of channel.subscribers) {
            try {
              controller.enqueue(KEEP_ALIVE);
            } catch {
              // closed meanwhile; its cancel removes it
            }
          }
        }
      }, this.#keepAliveMs);
    } else if (!open && this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  /** Number of channels kept (for tests and metrics). */
  get size(): number {
    return this.#channels.size;
  }

  /**
   * The channel of `callId`, made room for when the channels are full: an
   * ended call's goes first, then one nobody's call has started on (a page
   * that subscribed and never called). A started call's channel is never
   * evicted: a call always gets one (calls are capped by MAX_CONCURRENT_CALLS),
   * and a subscription finding no room gets none (undefined).
   */
  #channel(callId: string, forCall: boolean): Channel | undefined {
    let channel = this.#channels.get(callId);
    if (channel === undefined) {
      while (this.#channels.size >= this.#maxChannels) {
        const all = [...this.#channels.entries()];
        const evictable = all.find(([, c]) => c.ended) ?? all.find(([, c]) => !c.started);
        if (evictable === undefined) {
          if (forCall) break;
          return undefined;
        }
        this.#close(evictable[0]);
      }
      channel = {
        frames: [],
        bytes: 0,
        subscribers: new Set(),
        started: false,
        ended: false,
        idle: undefined,
      };
      this.#channels.set(callId, channel);
    }
    return channel;
  }

  #close(callId: string): void {
    const channel = this.#channels.get(callId);
    if (channel === undefined) return;
    this.#channels.delete(callId);
    clearTimeout(channel.idle);
    for (const controller of channel.subscribers) {
      try {
        controller.close();
      } catch {
        // already closed
      }
    }
    channel.subscribers.clear();
    this.#updateKeepAlive();
  }

  #publish(callId: string, event: LiveEvent): void {
    const channel = this.#channels.get(callId);
    if (channel === undefined) return;
    const frame = encoder.encode(`data: ${JSON.stringify(event)}\n\n`);
    // Kept for late subscribers up to maxBytes (live subscribers get every event).
    if (channel.bytes + frame.length <= this.#maxBytes || event.type === "ended") {
      channel.frames.push(frame);
      channel.bytes += frame.length;
    }
    for (const controller of channel.subscribers) controller.enqueue(frame);
    if (event.type === "ended") {
      channel.ended = true;
      for (const controller of channel.subscribers) controller.close();
      channel.subscribers.clear();
      this.#updateKeepAlive();
    }
  }

  /**
   * The SSE body of call `callId`'s live view: the events so far, then each
   * new one; it ends after the call's `ended` event (or when the client
   * goes away, or after `idleMs` without a call). Undefined when every
   * channel belongs to a live call (no room for another page).
   */
  subscribe(callId: string): ReadableStream<Uint8Array> | undefined {
    const channel = this.#channel(callId, false);
    if (channel === undefined) return undefined;
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        // A comment first, so the page's EventSource opens at once; no reconnect after the end.
        controller.enqueue(encoder.encode(": live call view\nretry: 600000\n\n"));
        for (const frame of channel.frames) controller.enqueue(frame);
        if (channel.ended) {
          controller.close();
          return;
        }
        channel.subscribers.add(controller);
        this.#updateKeepAlive();
        if (!channel.started && channel.idle === undefined) {
          channel.idle = setTimeout(() => {
            channel.idle = undefined;
            if (!channel.started) this.#close(callId);
          }, this.#idleMs);
        }
      },
      cancel: () => {
        if (self !== undefined) channel.subscribers.delete(self);
        if (!channel.started && channel.subscribers.size === 0) this.#close(callId);
        this.#updateKeepAlive();
      },
    });
  }

  /** Ends every stream (the server is shutting down). */
  closeAll(): void {
    for (const callId of [...this.#channels.keys()]) this.#close(callId);
  }

  /**
   * `other` (the call's metrics and records), plus the live view when the
   * call is a softphone call (`callId` known).
   */
  alongside(
    other: CallObserver | undefined,
    callId: string | undefined,
    startedAt: number,
    info: { agent?: string } = {},
  ): CallObserver | undefined {
    if (callId === undefined) return other;
    const live = this.observeCall(callId, startedAt, info);
    return other === undefined ? live : combineObservers([other, live]);
  }

  /**
   * The observer of softphone call `callId` (started at `startedAt` on the
   * runner's clock), publishing to its channel.
   */
  observeCall(callId: string, startedAt: number, info: { agent?: string } = {}): CallObserver {
    const channel = this.#channel(callId, true)!;
    channel.started = true;
    clearTimeout(channel.idle);
    channel.idle = undefined;
    let stoppedAt: number | undefined;
    const t = (now: number) => Math.round(now - startedAt);
    const publish = (event: LiveEvent) => this.#publish(callId, event);
    publish({ type: "call", callId, ...(info.agent ? { agent: info.agent } : {}), t: 0 });
    return {
      observe: (event: CallObservation, now: number) => {
        switch (event.kind) {
          case "caller_speech_stopped":
            stoppedAt = now;
            return publish({ type: "caller_stopped", t: t(now) });
          case "caller_transcript":
            return publish({
              type: "caller",
              itemId: event.itemId,
              text: event.text,
              ...(event.speechMs !== undefined ? { speechMs: event.speechMs } : {}),
              ...(event.text === "" ? { note: this.#untranscribedNote(event.speechMs) } : {}),
              t: t(now),
            });
          case "assistant_audio_started": {
            const latency = stoppedAt === undefined
              ? {}
              : { latencyMs: Math.round(now - stoppedAt) };
            stoppedAt = undefined;
            return publish({
              type: "assistant_audio",
              itemId: event.itemId,
              responseId: event.responseId,
              ...latency,
              t: t(now),
            });
          }
          case "assistant_transcript":
            return publish({
              type: "assistant",
              itemId: event.itemId,
              text: event.text,
              t: t(now),
            });
          case "assistant_truncated":
            return publish({
              type: "truncated",
              itemId: event.itemId,
              heardMs: Math.round(event.heardMs),
              sentMs: Math.round(event.sentMs),
              t: t(now),
            });
          case "barge_in":
            return publish({ type: "barge_in", t: t(now) });
          case "false_interruption": {
            const { kind: _kind, ...rest } = event;
            return publish({ type: "false_interruption", ...rest, t: t(now) });
          }
          case "tool_call":
            return publish({
              type: "tool_call",
              callId: event.callId,
              name: event.name,
              arguments: capText(event.arguments),
              t: t(now),
            });
          case "tool_answered":
            // end_call, the transfer or an unknown tool: answered at once, no tool ran.
            return publish({
              type: "tool_result",
              callId: event.callId,
              name: event.name,
              output: capText(event.output),
              durationMs: 0,
              failed: event.failed,
              t: t(now),
            });
        }
      },
      toolFinished: (tool: ToolFinished, now: number) =>
        publish({
          type: "tool_result",
          callId: tool.callId,
          name: tool.name,
          output: capText(stringify(tool.output)),
          durationMs: Math.round(tool.durationMs),
          failed: tool.failed,
          t: t(now),
        }),
      transferStep: (step, now) =>
        publish({ type: "transfer", step: step.step, destination: step.destination, t: t(now) }),
      finished: (summary) =>
        publish({ type: "ended", outcome: summary.outcome, t: Math.round(summary.durationMs) }),
    };
  }
}
