/**
 * An out-of-band text response, as the GA server streams it: a
 * `response.create` with `conversation: "none"` and `output_modalities:
 * ["text"]` runs alongside the default conversation's response (only one
 * response may write to the default conversation; others may run in
 * parallel, told apart by `metadata`), adds nothing to the conversation
 * (`conversation_id` null, no `conversation.item.*` events) and carries its
 * text in `output_text` parts. Events per the GA schema in
 * `/work/shared/realtime-schema/` (`response.create`'s description;
 * `response.content_part.added` part type `text`; `response.output_text.delta`
 * and `.done`).
 *
 * @example
 * ```ts
 * import { outOfBandTextResponse } from "./realtime_text_response.ts";
 * const events = outOfBandTextResponse({ text: "Ada wants a viewing.", metadata: { purpose: "brief" } });
 * const done = events.at(-1)!;
 * if (done.type !== "response.done") throw new Error();
 * if ((done.response as { conversation_id: unknown }).conversation_id !== null) throw new Error();
 * ```
 *
 * @module
 */
import { realtimeId } from "./realtime_ids.ts";
import {
  FAKE_INPUT_USAGE,
  type InputUsage,
  responseUsage,
  type ServerEvent,
} from "./realtime_response.ts";

/** What the text response says and echoes. */
export interface TextResponseOptions {
  text: string;
  /** The request's `metadata`, echoed back (null when none). */
  metadata?: Record<string, string> | null;
  id?: string;
  itemId?: string;
  inputUsage?: InputUsage;
  /** Split the text into this many deltas (default 2). */
  deltas?: number;
}

/** The whole event sequence of one out-of-band text response. */
export function outOfBandTextResponse(options: TextResponseOptions): ServerEvent[] {
  const id = options.id ?? realtimeId("resp");
  const itemId = options.itemId ?? realtimeId("item");
  const text = options.text;
  const base = { response_id: id, item_id: itemId, output_index: 0, content_index: 0 };
  const item = (status: "in_progress" | "completed", content: unknown[]) => ({
    id: itemId,
    object: "realtime.item",
    type: "message",
    status,
    role: "assistant",
    content,
  });
  const response = (status: "in_progress" | "completed", output: unknown[]) => {
    const input = options.inputUsage ?? FAKE_INPUT_USAGE;
    const textTokens = Math.ceil(text.length / 4);
    return {
      object: "realtime.response",
      id,
      status,
      status_details: null,
      output,
      conversation_id: null,
      output_modalities: ["text"],
      max_output_tokens: "inf",
      usage: status === "completed" ? responseUsage(input, textTokens, 0) : null,
      metadata: options.metadata ?? null,
    };
  };
  const parts = Math.max(1, options.deltas ?? 2);
  const size = Math.ceil(text.length / parts) || 1;
  const deltas: ServerEvent[] = [];
  for (let at = 0; at < text.length; at += size) {
    deltas.push({ type: "response.output_text.delta", ...base, delta: text.slice(at, at + size) });
  }
  const done = item("completed", [{ type: "output_text", text }]);
  return [
    { type: "response.created", response: response("in_progress", []) },
    {
      type: "response.output_item.added",
      response_id: id,
      output_index: 0,
      item: item("in_progress", []),
    },
    { type: "response.content_part.added", ...base, part: { type: "text", text: "" } },
    ...deltas,
    { type: "response.output_text.done", ...base, text },
    { type: "response.content_part.done", ...base, part: { type: "text", text } },
    { type: "response.output_item.done", response_id: id, output_index: 0, item: done },
    { type: "response.done", response: response("completed", [done]) },
  ];
}
