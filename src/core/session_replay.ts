/**
 * Replaying a call's conversation into a new Realtime session (after a
 * renewal or a reconnect), and the reconnect schedule.
 *
 * A new session knows nothing of the call so far. The bridge re-creates the
 * context as `conversation.item.create` events: the caller's turns as user
 * `input_text` messages (from input transcription), the assistant's turns as
 * assistant `output_text` messages (what the caller heard), and tool calls
 * with their outputs.
 *
 * @module
 */
import type { ClientEvent, ClientItem } from "../openai/client_events.ts";
import type { ConversationEntry } from "./conversation_log.ts";

/** Limits of {@link buildReplayEvents}. */
export interface ReplayLimits {
  /** Most recent entries replayed at most. Default 200. */
  maxItems?: number;
  /** Characters of text replayed at most (newest first). Default 60000. */
  maxChars?: number;
}

/**
 * Builds the `conversation.item.create` events that carry the
 * conversation into a new session, oldest first. Caller turns without a
 * transcript and empty assistant turns are skipped; when the limits cut the
 * history, the oldest entries go first (never an output without its call).
 *
 * @example
 * ```ts
 * import { buildReplayEvents } from "./session_replay.ts";
 * const events = buildReplayEvents([
 *   { kind: "user", itemId: "item_1", transcript: "Hi there", at: 0 },
 *   { kind: "assistant", itemId: "item_2", responseId: "r", transcript: "Hello!", heardMs: undefined, at: 1 },
 * ]);
 * const first = events[0];
 * if (first.type !== "conversation.item.create" || first.item.type !== "message") throw new Error();
 * if (first.item.content[0].type !== "input_text") throw new Error();
 * ```
 */
export function buildReplayEvents(
  entries: readonly ConversationEntry[],
  limits: ReplayLimits = {},
): ClientEvent[] {
  const maxItems = limits.maxItems ?? 200;
  let budget = limits.maxChars ?? 60_000;
  const items: ClientItem[] = [];
  for (let i = entries.length - 1; i >= 0 && items.length < maxItems; i--) {
    const item = replayItem(entries[i]);
    if (item === undefined) continue;
    budget -= item.size;
    if (budget < 0) break;
    items.push(item.item);
  }
  items.reverse();
  // An output whose call was cut off would be rejected: drop leading outputs.
  while (items.length > 0 && items[0].type === "function_call_output") items.shift();
  return items.map((item) => ({ type: "conversation.item.create", item }));
}

function replayItem(
  entry: ConversationEntry,
): { item: ClientItem; size: number } | undefined {
  switch (entry.kind) {
    case "user": {
      const text = (entry.modelText ?? entry.transcript)?.trim();
      if (!text) return undefined;
      return {
        item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
        size: text.length,
      };
    }
    case "assistant": {
      const text = entry.transcript?.trim();
      if (!text) return undefined;
      return {
        item: { type: "message", role: "assistant", content: [{ type: "output_text", text }] },
        size: text.length,
      };
    }
    case "function_call":
      return {
        item: {
          type: "function_call",
          call_id: entry.callId,
          name: entry.name,
          arguments: entry.arguments,
        },
        size: entry.arguments.length + entry.name.length,
      };
    case "function_call_output":
      return {
        item: { type: "function_call_output", call_id: entry.callId, output: entry.output },
        size: entry.output.length,
      };
    case "false_interruption":
      return undefined; // kept out of the conversation
  }
}

/**
 * Ms to wait before reconnect attempt `attempt` (1-based): at once, then
 * 250 ms, 500 ms, 1 s, 2 s, 2 s…
 *
 * @example
 * ```ts
 * import { reconnectDelayMs } from "./session_replay.ts";
 * if (reconnectDelayMs(1) !== 0 || reconnectDelayMs(3) !== 500) throw new Error();
 * ```
 */
export function reconnectDelayMs(attempt: number): number {
  if (attempt <= 1) return 0;
  return Math.min(2000, 250 * 2 ** (attempt - 2));
}

/** Reconnect attempts at most per outage (the reconnect window bounds them too). */
export const MAX_RECONNECT_ATTEMPTS = 8;
