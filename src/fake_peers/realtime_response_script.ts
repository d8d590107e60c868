/**
 * A scripted response with several output items, played step by step: a
 * reasoning model's spoken preamble then its answer, or two function calls in
 * one response. Sans-IO: {@link ResponseScript.step} returns the next events;
 * the caller decides when (all at once, one audio chunk per tick, or on a
 * test's command) and stops stepping once the response was cancelled.
 *
 * @example
 * ```ts
 * import { RealtimeConversation } from "./realtime_conversation.ts";
 * import { RealtimeResponse } from "./realtime_response.ts";
 * import { ResponseScript } from "./realtime_response_script.ts";
 * const response = new RealtimeResponse({
 *   conversation: new RealtimeConversation(),
 *   outputAudio: () => ({ format: { type: "audio/pcmu" }, voice: "alloy" }),
 * });
 * const script = new ResponseScript(response, {
 *   items: [
 *     { audioMs: 300, transcript: "Let me check." },
 *     { functionCall: { name: "lookup_order", arguments: { order_id: "42" } } },
 *   ],
 * });
 * const events = script.runToEnd();
 * const types = events.map((e) => e.type);
 * if (types[0] !== "response.created" || types.at(-1) !== "response.done") throw new Error();
 * if (types.filter((t) => t === "response.output_audio.delta").length !== 3) throw new Error();
 * ```
 *
 * @module
 */
import { realtimeId } from "./realtime_ids.ts";
import type { RealtimeResponse, ServerEvent } from "./realtime_response.ts";

/** An assistant audio message item of a scripted response. */
export interface ScriptedAudioItem {
  /** Ms of audio (default 200). Ignored when `audio` is given. */
  audioMs?: number;
  /** The exact audio bytes (default: `audioMs` of `value`). */
  audio?: Uint8Array;
  /** Byte the audio is filled with (default 0x7f), so tests can tell items apart by ear. */
  value?: number;
  /** Transcript of the audio, sent as one delta after the audio (default none). */
  transcript?: string;
  /** Item id (default generated). */
  itemId?: string;
}

/** A function-call item of a scripted response. */
export interface ScriptedFunctionCallItem {
  functionCall: {
    name: string;
    /** A JSON string or a value to stringify. */
    arguments: string | Record<string, unknown>;
    /** Default generated (`call_…`). */
    callId?: string;
  };
  /** Item id (default generated). */
  itemId?: string;
}

/** One output item of a scripted response. */
export type ScriptedItem = ScriptedAudioItem | ScriptedFunctionCallItem;

/** Options of {@link ResponseScript}. */
export interface ResponseScriptOptions {
  /** The output items, in order. */
  items: ScriptedItem[];
  /** Ms of audio per `response.output_audio.delta` (default 100). */
  chunkMs?: number;
  /** Audio bytes per ms (default 8, μ-law; 48 for 24 kHz PCM). */
  bytesPerMs?: number;
  /** Status of the final `response.done` (default `completed`). */
  status?: "completed" | "incomplete" | "failed";
}

/** What each scripted item became: its ids (known before the first step). */
export interface ScriptedItemIds {
  itemId: string;
  /** The call id of a function-call item. */
  callId?: string;
}

/** A step of a script: its events and, for audio, how many ms of audio it carries. */
export interface ScriptStep {
  events: ServerEvent[];
  /** Ms of audio in this step (0 for non-audio steps). */
  audioMs: number;
}

/** Plays a list of items into a {@link RealtimeResponse}, one step at a time. */
export class ResponseScript {
  /** The response being played. */
  readonly response: RealtimeResponse;
  /** Ids of every item, in output order (known up front). */
  readonly items: ScriptedItemIds[];
  #steps: Generator<ScriptStep, void>;
  #finished = false;

  constructor(response: RealtimeResponse, options: ResponseScriptOptions) {
    this.response = response;
    this.items = options.items.map((item) =>
      "functionCall" in item
        ? {
          itemId: item.itemId ?? realtimeId("item"),
          callId: item.functionCall.callId ?? realtimeId("call"),
        }
        : { itemId: item.itemId ?? realtimeId("item") }
    );
    this.#steps = this.#play(options);
  }

  /** True once every step was taken or the response ended otherwise (cancelled). */
  get finished(): boolean {
    return this.#finished || this.response.done;
  }

  /**
   * The next step's events: `response.created`; per audio item its opening,
   * one step per audio chunk, its transcript and its closing; per function
   * call one step; then `response.done`. Undefined once finished (also when
   * the response was cancelled in between: nothing more is produced).
   */
  step(): ScriptStep | undefined {
    if (this.finished) return undefined;
    const next = this.#steps.next();
    if (next.done) {
      this.#finished = true;
      return undefined;
    }
    return next.value;
  }

  /** Every remaining step's events, concatenated. */
  runToEnd(): ServerEvent[] {
    const events: ServerEvent[] = [];
    for (let s = this.step(); s !== undefined; s = this.step()) events.push(...s.events);
    return events;
  }

  *#play(options: ResponseScriptOptions): Generator<ScriptStep, void> {
    const response = this.response;
    const chunkMs = options.chunkMs ?? 100;
    const bytesPerMs = options.bytesPerMs ?? 8;
    yield { events: response.created(), audioMs: 0 };
    for (const [index, item] of options.items.entries()) {
      const ids = this.items[index];
      if ("functionCall" in item) {
        const call = item.functionCall;
        const events = response.functionCall(call.name, call.arguments, ids.callId, ids.itemId)
          .events;
        yield { events, audioMs: 0 };
        continue;
      }
      yield { events: response.openMessage(ids.itemId).events, audioMs: 0 };
      const audio = item.audio ??
        new Uint8Array(Math.round((item.audioMs ?? 200) * bytesPerMs)).fill(item.value ?? 0x7f);
      const chunkBytes = Math.max(1, Math.round(chunkMs * bytesPerMs));
      for (let offset = 0; offset < audio.length; offset += chunkBytes) {
        const chunk = audio.subarray(offset, Math.min(audio.length, offset + chunkBytes));
        yield { events: response.audio(chunk), audioMs: chunk.length / bytesPerMs };
      }
      const transcript = item.transcript ? response.transcript(item.transcript) : [];
      yield { events: [...transcript, ...response.closeMessage("completed")], audioMs: 0 };
    }
    yield { events: response.finish(options.status ?? "completed"), audioMs: 0 };
  }
}
