/**
 * The server side of one Realtime (GA) session, sans-IO: it keeps the
 * effective session (defaults merged with every `session.update`), the
 * conversation and the response in progress, answers the client events both
 * the tests' fake server and the demo stand-in handle the same way, and
 * reports what happened so each adapter can add its own behaviour (recording,
 * VAD, how to answer `response.create`). Every returned event lacks only its
 * `event_id`, which the adapter stamps when it sends it.
 *
 * @example
 * ```ts
 * import { RealtimeServerSession } from "./realtime_server_session.ts";
 * const session = new RealtimeServerSession({ model: "gpt-realtime", instructions: "" });
 * const created = session.created();
 * if (created.type !== "session.created") throw new Error();
 * const update = session.handle({
 *   type: "session.update",
 *   session: { type: "realtime", audio: { output: { format: { type: "audio/pcmu" } } } },
 * });
 * if (update.events[0].type !== "session.updated") throw new Error();
 * const response = session.beginResponse({ interruptible: true });
 * const opened = [...response.created(), ...response.openMessage("item_a").events];
 * opened.push(...response.audio(new Uint8Array(8 * 200)));
 * // The caller barges in: server VAD cancels the response (interrupt_response).
 * const barge = session.speechStarted(150);
 * if (barge.at(-1)?.type !== "response.done" || response.status !== "cancelled") throw new Error();
 * const truncate = session.handle({
 *   type: "conversation.item.truncate", item_id: "item_a", content_index: 0, audio_end_ms: 150,
 * });
 * if (truncate.outcome.kind !== "truncated") throw new Error();
 * ```
 *
 * @module
 */
import { type ConversationItem, RealtimeConversation } from "./realtime_conversation.ts";
import { realtimeId } from "./realtime_ids.ts";
import {
  type CancelReason,
  type InputUsage,
  RealtimeResponse,
  type ServerEvent,
} from "./realtime_response.ts";
import {
  gaSessionDefaults,
  inputAudioOf,
  interruptsResponse,
  mergeSessionUpdate,
  outputAudioOf,
  type RealtimeSessionObject,
} from "./realtime_session_state.ts";
import { decodeBase64 } from "../audio/base64.ts";

/** Options of {@link RealtimeServerSession}. */
export interface RealtimeServerSessionOptions {
  /** Model from the connection URL. */
  model: string;
  /** The default instructions reported in `session.created`. */
  instructions: string;
  /** `conversation_id` of responses (default `conv_fake`). */
  conversationId?: string;
  /** Input usage of responses (default the fake's figures). */
  inputUsage?: InputUsage;
}

/** What a client event did (besides the events to send). */
export type ClientEventOutcome =
  | { kind: "session_updated" }
  | { kind: "audio_appended"; bytes: Uint8Array }
  | { kind: "invalid_audio" }
  | { kind: "audio_cleared" }
  | { kind: "item_created"; item: ConversationItem }
  | { kind: "item_deleted"; itemId: string }
  | {
    kind: "truncated";
    event: ServerEvent;
    /** The response the truncate stopped (an interruptible one still streaming that item). */
    cancelled: RealtimeResponse | undefined;
  }
  | { kind: "truncate_rejected"; reason: string; audioMs: number; error: ServerEvent }
  /** `response.create` with no response in progress: the adapter answers it. */
  | { kind: "response_requested"; response: Record<string, unknown> }
  /**
   * `response.create` with `conversation: "none"`: an out-of-band response,
   * which may run alongside the conversation's (see `realtime_text_response.ts`).
   */
  | { kind: "out_of_band_requested"; response: Record<string, unknown> }
  | { kind: "response_busy" }
  | { kind: "response_cancelled"; response: RealtimeResponse }
  | { kind: "cancel_not_active" }
  /** An event this module leaves to the adapter (`input_audio_buffer.commit`, …). */
  | { kind: "unhandled" };

/** The answer to one client event. */
export interface ClientEventResult {
  /** Server events to send, in order. */
  events: ServerEvent[];
  /** What happened. */
  outcome: ClientEventOutcome;
  /**
   * False when the events echo what the client sent (`session.updated`, an
   * item it created): they can hold fields the strict schema does not know.
   */
  strict: boolean;
}

/** An `error` event like the live API's (`invalid_request_error`). */
export function errorEvent(
  code: string | null,
  message: string,
  param: string | null = null,
  clientEventId: string | null = null,
): ServerEvent {
  return {
    type: "error",
    error: { type: "invalid_request_error", code, message, param, event_id: clientEventId },
  };
}

/** One session's server state. */
export class RealtimeServerSession {
  /** The effective session (`session.created` merged with every update). */
  config: RealtimeSessionObject;
  /** Items, their order and their audio. */
  readonly conversation = new RealtimeConversation();
  #active: RealtimeResponse | undefined;
  #options: RealtimeServerSessionOptions;

  constructor(options: RealtimeServerSessionOptions) {
    this.#options = options;
    this.config = gaSessionDefaults({
      id: realtimeId("sess"),
      model: options.model,
      instructions: options.instructions,
    });
  }

  /** `session.created` with the current session. */
  created(): ServerEvent {
    return { type: "session.created", session: this.config };
  }

  /** The response in progress, if any. */
  get activeResponse(): RealtimeResponse | undefined {
    return this.#active?.done ? undefined : this.#active;
  }

  /** Output audio of the session now: format, voice, bytes per ms. */
  get outputAudio(): ReturnType<typeof outputAudioOf> {
    return outputAudioOf(this.config);
  }

  /** Input audio bytes per ms. */
  get inputBytesPerMs(): number {
    return inputAudioOf(this.config).bytesPerMs;
  }

  /** Starts a response (it becomes the active one); the caller sends its `created()`. */
  beginResponse(
    options: { id?: string; interruptible?: boolean } = {},
  ): RealtimeResponse {
    const response = new RealtimeResponse({
      conversation: this.conversation,
      outputAudio: () => {
        const { format, voice } = this.outputAudio;
        return { format, voice };
      },
      id: options.id,
      conversationId: this.#options.conversationId,
      inputUsage: this.#options.inputUsage,
      interruptible: options.interruptible,
    });
    this.#active = response;
    return response;
  }

  /**
   * `input_audio_buffer.speech_started` (server VAD heard the caller). With
   * `interrupt_response` on, an interruptible response in progress is
   * cancelled (`turn_detected`) right after it, like the live API.
   */
  speechStarted(audioStartMs: number, itemId: string = realtimeId("item")): ServerEvent[] {
    const events: ServerEvent[] = [{
      type: "input_audio_buffer.speech_started",
      audio_start_ms: Math.floor(audioStartMs),
      item_id: itemId,
    }];
    const active = this.activeResponse;
    if (active?.interruptible && interruptsResponse(this.config)) {
      events.push(...active.cancel("turn_detected"));
    }
    return events;
  }

  /** Answers one (schema-valid) client event. */
  handle(event: Record<string, unknown>): ClientEventResult {
    const clientEventId = typeof event.event_id === "string" ? event.event_id : null;
    const result = (
      outcome: ClientEventOutcome,
      events: ServerEvent[] = [],
      strict = true,
    ): ClientEventResult => ({ events, outcome, strict });
    switch (event.type) {
      case "session.update":
        this.config = mergeSessionUpdate(this.config, event.session);
        return result(
          { kind: "session_updated" },
          [{ type: "session.updated", session: this.config }],
          false,
        );
      case "input_audio_buffer.append": {
        const bytes = typeof event.audio === "string" ? decodeBase64(event.audio) : undefined;
        if (bytes === undefined) {
          return result({ kind: "invalid_audio" }, [
            errorEvent(
              "invalid_value",
              "Invalid 'audio'. Expected base64-encoded audio bytes.",
              "audio",
              clientEventId,
            ),
          ]);
        }
        return result({ kind: "audio_appended", bytes });
      }
      case "input_audio_buffer.clear":
        return result({ kind: "audio_cleared" }, [{ type: "input_audio_buffer.cleared" }]);
      case "conversation.item.create": {
        const given = (event.item ?? {}) as Record<string, unknown>;
        const item: ConversationItem = {
          ...given,
          id: typeof given.id === "string" ? given.id : realtimeId("item"),
          object: "realtime.item",
          status: "completed",
        };
        const last = this.conversation.add(item);
        const previous = typeof event.previous_item_id === "string" ? event.previous_item_id : last;
        return result({ kind: "item_created", item }, [
          { type: "conversation.item.added", previous_item_id: previous, item },
          { type: "conversation.item.done", previous_item_id: previous, item },
        ], false);
      }
      case "conversation.item.delete": {
        const itemId = String(event.item_id);
        this.conversation.delete(itemId);
        return result({ kind: "item_deleted", itemId }, [
          { type: "conversation.item.deleted", item_id: itemId },
        ]);
      }
      case "conversation.item.truncate":
        return this.#truncate(event, clientEventId);
      case "response.create": {
        const requested = (event.response ?? {}) as Record<string, unknown>;
        if (requested.conversation === "none") {
          // Only one response may write to the default conversation; out-of-band ones run in parallel.
          return result({ kind: "out_of_band_requested", response: requested });
        }
        const active = this.activeResponse;
        if (active) {
          return result({ kind: "response_busy" }, [
            errorEvent(
              "conversation_already_has_active_response",
              `Conversation already has an active response in progress: ${active.id}. Wait until the response is finished before creating a new one.`,
              null,
              clientEventId,
            ),
          ]);
        }
        const response = (event.response ?? {}) as Record<string, unknown>;
        return result({ kind: "response_requested", response });
      }
      case "response.cancel": {
        const active = this.activeResponse;
        if (!active || (event.response_id && event.response_id !== active.id)) {
          return result({ kind: "cancel_not_active" }, [
            errorEvent(
              "response_cancel_not_active",
              "Cancellation failed: no active response found.",
              null,
              clientEventId,
            ),
          ]);
        }
        return result(
          { kind: "response_cancelled", response: active },
          active.cancel("client_cancelled"),
        );
      }
      default:
        return result({ kind: "unhandled" });
    }
  }

  /** Cancels the response in progress (the adapter scripts a barge-in); [] when none. */
  cancelActive(reason: CancelReason): ServerEvent[] {
    return this.activeResponse?.cancel(reason) ?? [];
  }

  #truncate(event: Record<string, unknown>, clientEventId: string | null): ClientEventResult {
    const decided = this.conversation.truncate(event, this.outputAudio.bytesPerMs);
    if (!decided.ok) {
      const error = errorEvent(decided.code, decided.message, decided.param, clientEventId);
      return {
        events: [error],
        outcome: {
          kind: "truncate_rejected",
          reason: decided.message,
          audioMs: decided.audioMs,
          error,
        },
        strict: true,
      };
    }
    const events: ServerEvent[] = [decided.event];
    const active = this.activeResponse;
    let cancelled: RealtimeResponse | undefined;
    if (active?.interruptible && active.hasItem(decided.event.item_id)) {
      // The caller stopped hearing this response: the rest of it is not produced.
      events.push(...active.cancel("client_cancelled"));
      cancelled = active;
    }
    return {
      events,
      outcome: { kind: "truncated", event: decided.event, cancelled },
      strict: true,
    };
  }
}
