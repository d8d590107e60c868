/**
 * The conversation a Realtime (GA) server keeps: items in order (each new
 * item reports the previous one's id), the assistant audio sent per item, and
 * the rules of `conversation.item.truncate` with the live API's error strings.
 * Sans-IO: methods return the server event to send or the error to answer.
 *
 * @example
 * ```ts
 * import { RealtimeConversation } from "./realtime_conversation.ts";
 * const conversation = new RealtimeConversation();
 * conversation.add({ id: "item_a", type: "message", role: "assistant" });
 * conversation.countAudio("item_a", 8 * 300); // 300 ms of μ-law
 * const tooFar = conversation.truncate({ item_id: "item_a", content_index: 0, audio_end_ms: 301 }, 8);
 * if (tooFar.ok || tooFar.message !== "Audio content of 300ms is already shorter than 301ms") {
 *   throw new Error("a truncate past the audio must be refused");
 * }
 * const ok = conversation.truncate({ item_id: "item_a", content_index: 0, audio_end_ms: 120 }, 8);
 * if (!ok.ok || ok.event.audio_end_ms !== 120) throw new Error("truncate refused");
 * if (conversation.audioMs("item_a", 8) !== 120) throw new Error("the item keeps what was heard");
 * ```
 *
 * @module
 */

/** A conversation item as the server reports it (plain JSON with at least an `id`). */
export type ConversationItem = { id: string; [key: string]: unknown };

/** The `conversation.item.truncated` event of an accepted truncate. */
export type TruncatedEvent = {
  type: "conversation.item.truncated";
  item_id: string;
  content_index: number;
  audio_end_ms: number;
};

/** What {@link RealtimeConversation.truncate} decided. */
export type TruncateResult =
  | { ok: true; event: TruncatedEvent; audioMsBefore: number }
  | {
    ok: false;
    /** The `error.code` the live API answers (`invalid_value`). */
    code: "invalid_value";
    /** The `error.message`. */
    message: string;
    /** The `error.param`: `item_id`, `content_index` or `audio_end_ms`. */
    param: "item_id" | "content_index" | "audio_end_ms";
    /** Ms of audio the item had (0 for an unknown item). */
    audioMs: number;
  };

/** Items, their order and their assistant audio. */
export class RealtimeConversation {
  #items = new Map<string, ConversationItem>();
  #audioBytes = new Map<string, number>();
  #sentBytes = new Map<string, number>();
  #lastItemId: string | null = null;

  /** Id of the last item added, or null. */
  get lastItemId(): string | null {
    return this.#lastItemId;
  }

  /** Adds an item at the end; returns the previous item's id (`previous_item_id`). */
  add(item: ConversationItem): string | null {
    const previous = this.#lastItemId;
    this.#items.set(item.id, item);
    this.#lastItemId = item.id;
    return previous;
  }

  /** True when an item with this id exists. */
  has(itemId: string): boolean {
    return this.#items.has(itemId);
  }

  /** Removes an item (`conversation.item.delete`); true when it existed. */
  delete(itemId: string): boolean {
    this.#audioBytes.delete(itemId);
    return this.#items.delete(itemId);
  }

  /** Records `bytes` of assistant audio sent for `itemId`. */
  countAudio(itemId: string, bytes: number): void {
    this.#audioBytes.set(itemId, (this.#audioBytes.get(itemId) ?? 0) + bytes);
    this.#sentBytes.set(itemId, (this.#sentBytes.get(itemId) ?? 0) + bytes);
  }

  /** Bytes of assistant audio ever sent for `itemId` (truncation does not change it). */
  sentBytes(itemId: string): number {
    return this.#sentBytes.get(itemId) ?? 0;
  }

  /** Ms of audio the item holds now (what was sent, cut by an accepted truncate). */
  audioMs(itemId: string, bytesPerMs: number): number {
    return (this.#audioBytes.get(itemId) ?? 0) / bytesPerMs;
  }

  /**
   * Applies a `conversation.item.truncate` like the live API. Refused (error
   * `invalid_value`): an unknown item, an item without audio (only assistant
   * audio can be truncated), a `content_index` other than 0, an `audio_end_ms`
   * that is not a whole number of ms ≥ 0 or is past the item's audio. Accepted:
   * the item keeps `audio_end_ms` of audio (a later truncate cannot go past it).
   */
  truncate(
    event: { item_id?: unknown; content_index?: unknown; audio_end_ms?: unknown },
    bytesPerMs: number,
  ): TruncateResult {
    const itemId = String(event.item_id ?? "");
    const bytes = this.#audioBytes.get(itemId);
    const audioMs = (bytes ?? 0) / bytesPerMs;
    const refuse = (
      param: "item_id" | "content_index" | "audio_end_ms",
      message: string,
    ): TruncateResult => ({ ok: false, code: "invalid_value", message, param, audioMs });
    if (bytes === undefined) {
      return refuse(
        "item_id",
        this.#items.has(itemId)
          ? `Item ${itemId} has no audio to truncate.`
          : `Item with item_id '${itemId}' not found.`,
      );
    }
    if (event.content_index !== 0) {
      return refuse(
        "content_index",
        `Invalid content_index ${event.content_index}: only content part 0 has audio.`,
      );
    }
    const end = event.audio_end_ms;
    if (typeof end !== "number" || !Number.isInteger(end) || end < 0) {
      return refuse(
        "audio_end_ms",
        `Invalid 'audio_end_ms': expected a whole number of ms from 0, got ${JSON.stringify(end)}.`,
      );
    }
    if (end > audioMs) {
      return refuse(
        "audio_end_ms",
        `Audio content of ${audioMs}ms is already shorter than ${end}ms`,
      );
    }
    this.#audioBytes.set(itemId, end * bytesPerMs);
    return {
      ok: true,
      audioMsBefore: audioMs,
      event: {
        type: "conversation.item.truncated",
        item_id: itemId,
        content_index: 0,
        audio_end_ms: end,
      },
    };
  }
}
