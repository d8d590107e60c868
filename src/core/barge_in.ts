/**
 * Barge-in: the caller starts speaking while the assistant's audio plays.
 * The rule spans the collaborators: during a farewell nothing happens (it may
 * not be interrupted); else the active response's late audio is dropped,
 * Twilio's queue is cleared, and every assistant item the caller did not hear
 * to its end is truncated at what was heard (the one being heard at its own
 * whole ms, the ones queued after it at 0) — only items the current session
 * knows; the conversation log keeps what the caller heard of each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bargeIn } from "./barge_in.ts";
 * import { createCallParts } from "./call_parts.ts";
 * import { encodeBase64 } from "../audio/base64.ts";
 * import type { TwilioSid } from "../twilio/media_stream_messages.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * parts.sessions.opened(parts.sessions.begin());
 * parts.audio.attach("MZ1" as TwilioSid, 0); // a SID as the parser checked it
 * parts.responses.created("resp_1");
 * parts.audio.delta("resp_1", "item_a", encodeBase64(new Uint8Array(8000).fill(0x55)), 0); // 1 s of audio
 * parts.now = 320; // the caller speaks 320 ms in
 * bargeIn(parts, parts.sessions.live()!);
 * const sent = parts.out.take();
 * assert.deepEqual(sent.find((c) => c.type === "to_openai")?.event, {
 *   type: "conversation.item.truncate", item_id: "item_a", content_index: 0, audio_end_ms: 320,
 * });
 * ```
 *
 * @module
 */
import { truncateItem } from "../openai/client_events.ts";
import type { BargeIn } from "./assistant_audio.ts";
import type { CallParts } from "./call_parts.ts";
import type { LiveSession } from "./session_lifecycle.ts";

/** The caller started speaking (OpenAI's VAD) on `session` at `parts.now`. */
export function bargeIn(parts: CallParts, session: LiveSession): void {
  const { out, options } = parts;
  if (parts.ending.ending) {
    out.log("debug", "Caller speech during the farewell is ignored.");
    return;
  }
  if (!options.interruptResponse) return;
  // The server cancels the active response itself; drop its deltas still in flight.
  const active = parts.responses.active;
  if (active !== undefined) parts.audio.dropResponse(active);
  commitCut(parts, session, parts.audio.bargeIn(parts.now));
}

/**
 * Commits a cut of the assistant's audio upstream: every item the caller did
 * not hear to its end is truncated at what was heard (items of a previous
 * session only in the log), and the conversation log keeps what was heard.
 */
export function commitCut(
  parts: CallParts,
  session: LiveSession,
  cut: BargeIn | { truncates?: undefined; math: Record<string, unknown> },
): void {
  const { out, options } = parts;
  const level = options.showTimingMath ? "info" : "debug";
  if (cut.truncates === undefined) {
    out.log(level, "Caller started speaking; nothing is playing.", cut.math);
    return;
  }
  if (cut.truncates.length === 0) {
    // Only the waiting sound played (it is never truncated): it stops, but the caller
    // interrupted nobody, so it is no barge-in for the metrics, the live view or the counts.
    out.log(level, "Caller started speaking over the waiting sound; it stopped.", cut.math);
    return;
  }
  parts.counts.bargeIns++;
  let truncates = 0;
  for (const item of cut.truncates) {
    if (!item.inSession) {
      // An item of a previous session: the new session does not know it.
      parts.conversation.assistantTruncated(item.itemId, item.audioEndMs, item.sentMs);
      out.observe({
        kind: "assistant_truncated",
        itemId: item.itemId,
        heardMs: item.audioEndMs,
        sentMs: item.sentMs,
      });
      continue;
    }
    truncates++;
    parts.conversation.assistantTruncated(item.itemId, item.truncateAtMs, item.sentMs);
    out.observe({
      kind: "assistant_truncated",
      itemId: item.itemId,
      heardMs: item.truncateAtMs,
      sentMs: item.sentMs,
    });
    out.toOpenAI(session, truncateItem(item.itemId, item.truncateAtMs));
  }
  parts.counts.truncates += truncates;
  out.observe({ kind: "barge_in", truncates });
  out.log(level, "Barge-in: cleared Twilio playback and truncated the assistant item.", cut.math);
}
