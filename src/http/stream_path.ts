/**
 * The URL paths of media streams, in one type: what a stream's path says
 * about the call before Twilio's `start` message arrives. Twilio signs the
 * whole URL on the upgrade, so a path cannot be forged; it carries no
 * personal data (a caller's context waits on the server, an outbound call's
 * in its sealed ticket).
 *
 * - `plain` — `/media-stream`: the environment's agent (no agents file).
 * - `agent` — `/media-stream/agent/<name>[/<CallSid>]`: an agent of the
 *   agents file; the CallSid when a caller context waits for that call.
 * - `outbound` — `/media-stream/outbound/<agent>[/<CallSid>]`: a call the
 *   server placed by that agent; the CallSid when its context waits for that
 *   call. `/media-stream/outbound/<agent>/resume/<CallSid>`: the stream that
 *   follows keypad tones (`send_dtmf`) and continues that call's
 *   conversation (kept by `outbound/stream_handoff.ts`).
 * - `resumed` — `/media-stream/resumed/<CallSid>`: a call whose earlier
 *   stream ended before the call did (a crash, a handover), continued from
 *   its checkpoint in the call store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStreamPath, parseStreamPath } from "./stream_path.ts";
 * assert.equal(formatStreamPath({ kind: "agent", agent: "front desk" }), "/media-stream/agent/front%20desk");
 * assert.deepEqual(parseStreamPath("/media-stream/outbound/listings/resume/CA1"), {
 *   kind: "outbound",
 *   agent: "listings",
 *   resumeCallSid: "CA1",
 * });
 * assert.equal(parseStreamPath("/media-stream/outbound/a/b"), undefined);
 * assert.equal(parseStreamPath("/incoming-call"), undefined);
 * ```
 *
 * @module
 */

/** What a media stream's path names. */
export type StreamPath =
  | { kind: "plain" }
  | { kind: "agent"; agent: string; callSid?: string }
  | { kind: "outbound"; agent: string; callSid?: string; resumeCallSid?: string }
  | { kind: "resumed"; callSid: string };

/** The path of plain streams; every other stream path starts with it and a slash. */
export const STREAM_PATH_ROOT = "/media-stream";

const CALL_SID = /^CA[0-9a-zA-Z]{1,40}$/;
const MAX_AGENT_NAME = 64;

/** The URL path of `stream` (names percent-encoded). */
export function formatStreamPath(stream: StreamPath): string {
  switch (stream.kind) {
    case "plain":
      return STREAM_PATH_ROOT;
    case "agent": {
      const base = `${STREAM_PATH_ROOT}/agent/${encodeURIComponent(stream.agent)}`;
      return stream.callSid === undefined ? base : `${base}/${encodeURIComponent(stream.callSid)}`;
    }
    case "outbound": {
      const base = `${STREAM_PATH_ROOT}/outbound/${encodeURIComponent(stream.agent)}`;
      if (stream.resumeCallSid !== undefined) return `${base}/resume/${stream.resumeCallSid}`;
      return stream.callSid === undefined ? base : `${base}/${stream.callSid}`;
    }
    case "resumed":
      return `${STREAM_PATH_ROOT}/resumed/${stream.callSid}`;
  }
}

/** What the stream path `path` names; undefined when it is no stream path or malformed. */
export function parseStreamPath(path: string): StreamPath | undefined {
  if (path === STREAM_PATH_ROOT) return { kind: "plain" };
  if (!path.startsWith(`${STREAM_PATH_ROOT}/`)) return undefined;
  const [kind, ...rest] = path.slice(STREAM_PATH_ROOT.length + 1).split("/");
  switch (kind) {
    case "agent": {
      const agent = agentName(rest[0]);
      if (agent === undefined || rest.length > 2) return undefined;
      if (rest.length === 1) return { kind, agent };
      const callSid = decode(rest[1]);
      return callSid === undefined || callSid === "" ? undefined : { kind, agent, callSid };
    }
    case "outbound": {
      const agent = agentName(rest[0]);
      if (agent === undefined) return undefined;
      if (rest.length === 1) return { kind, agent };
      if (rest.length === 2 && CALL_SID.test(rest[1])) return { kind, agent, callSid: rest[1] };
      if (rest.length === 3 && rest[1] === "resume" && CALL_SID.test(rest[2])) {
        return { kind, agent, resumeCallSid: rest[2] };
      }
      return undefined;
    }
    case "resumed":
      return rest.length === 1 && CALL_SID.test(rest[0]) ? { kind, callSid: rest[0] } : undefined;
  }
  return undefined;
}

function agentName(raw: string | undefined): string | undefined {
  const name = raw === undefined ? undefined : decode(raw);
  return name === undefined || name === "" || name.length > MAX_AGENT_NAME ? undefined : name;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
