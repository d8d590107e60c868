/**
 * The media-stream URL path of an outbound call: it names the agent (so the
 * server sets the call up before Twilio's `start` message arrives: listen
 * for the AMD result, the agent's greeting and voicemail message) and, for
 * the stream that follows keypad tones, the call whose conversation it
 * resumes. Twilio signs the whole URL on the upgrade, so the path cannot be
 * forged; it carries no personal data (the context travels in the sealed
 * call ticket).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outboundStreamPath, parseOutboundStreamPath } from "./outbound_stream_path.ts";
 * assert.equal(outboundStreamPath("listings"), "/media-stream/outbound/listings");
 * assert.deepEqual(parseOutboundStreamPath(outboundStreamPath("front desk", "CA1")), {
 *   agent: "front desk",
 *   resumeCallSid: "CA1",
 * });
 * assert.equal(parseOutboundStreamPath("/media-stream/outbound/a/b"), undefined);
 * ```
 *
 * @module
 */

/** The prefix of outbound stream paths (`OUTBOUND_STREAM_PREFIX` of the app). */
const PREFIX = "/media-stream/outbound/";
const CALL_SID = /^CA[0-9a-fA-F]{32}$|^CA[0-9a-zA-Z]{1,40}$/;

/** The path of `agent`'s outbound stream, or of the stream resuming `resumeCallSid`. */
export function outboundStreamPath(agent: string, resumeCallSid?: string): string {
  const base = `${PREFIX}${encodeURIComponent(agent)}`;
  return resumeCallSid === undefined ? base : `${base}/resume/${resumeCallSid}`;
}

/** The agent (and resumed call) of an outbound stream path; undefined when malformed. */
export function parseOutboundStreamPath(
  path: string,
): { agent: string; resumeCallSid?: string } | undefined {
  if (!path.startsWith(PREFIX)) return undefined;
  const parts = path.slice(PREFIX.length).split("/");
  let agent: string;
  try {
    agent = decodeURIComponent(parts[0]);
  } catch {
    return undefined;
  }
  if (agent === "" || agent.length > 64) return undefined;
  if (parts.length === 1) return { agent };
  if (parts.length === 3 && parts[1] === "resume" && CALL_SID.test(parts[2])) {
    return { agent, resumeCallSid: parts[2] };
  }
  return undefined;
}
