/**
 * The media-stream path of a call that goes on after its stream was lost:
 * `/media-stream/resumed/<CallSid>`. The `<Connect action>` answer of any
 * instance points Twilio there; the instance taking the stream reads the
 * call's checkpoint (agent, caller context, conversation) by that CallSid.
 * Kept in one small module so it can join the project's one stream-path type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseResumedStreamPath, resumedStreamPath } from "./resumed_stream_path.ts";
 * assert.equal(resumedStreamPath("CA123"), "/media-stream/resumed/CA123");
 * assert.equal(parseResumedStreamPath("/media-stream/resumed/CA123"), "CA123");
 * assert.equal(parseResumedStreamPath("/media-stream/resumed/CA1/x"), undefined);
 * ```
 *
 * @module
 */

/** Prefix of a resumed call's stream. */
export const RESUMED_STREAM_PREFIX = "/media-stream/resumed/";

/** The stream path of the resumed call `callSid`. */
export function resumedStreamPath(callSid: string): string {
  return `${RESUMED_STREAM_PREFIX}${encodeURIComponent(callSid)}`;
}

/** The CallSid a resumed stream path names, or undefined when `path` is not one. */
export function parseResumedStreamPath(path: string): string | undefined {
  if (!path.startsWith(RESUMED_STREAM_PREFIX)) return undefined;
  const rest = path.slice(RESUMED_STREAM_PREFIX.length);
  return /^[A-Za-z0-9]{1,64}$/.test(rest) ? rest : undefined;
}
