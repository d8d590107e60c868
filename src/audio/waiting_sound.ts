/**
 * The waiting sound: what a caller hears while the bridge (re)connects to
 * OpenAI for longer than about a second, instead of dead air. The built-in
 * sound is a soft two-note chime every two seconds, synthesized here as
 * 8 kHz μ-law (the format Twilio plays, no transcoding); `WAITING_SOUND` may
 * name a raw 8 kHz μ-law file instead, or turn it off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtInWaitingSound, toFrames } from "./waiting_sound.ts";
 * const sound = builtInWaitingSound();
 * assert.equal(sound.length, 16000); // 2 s at 8000 bytes a second
 * const frames = toFrames(sound);
 * assert.equal(frames.length, 100); // 20 ms each
 * assert.equal(atob(frames[0]).length, 160);
 * ```
 *
 * @module
 */
import { type Base64, encodeBase64 } from "./base64.ts";
import { linearToMulaw } from "./mulaw.js";
import { FRAME_BYTES, MULAW_SILENCE } from "./frames.js";
import { errorMessage } from "../observability/error_message.ts";

const RATE = 8000;
/** A waiting sound file may be at most this long (30 s). */
const MAX_FILE_BYTES = 30 * RATE;

/** A soft chime (G5 then E5), 2 s long, as 8 kHz μ-law. */
export function builtInWaitingSound(): Uint8Array {
  const out = new Uint8Array(2 * RATE);
  const notes = [{ at: 0, hz: 784 }, { at: 0.18, hz: 659 }];
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    let sample = 0;
    for (const note of notes) {
      const dt = t - note.at;
      if (dt < 0 || dt > 0.6) continue;
      const envelope = Math.min(1, dt / 0.01) * Math.exp(-dt * 7);
      sample += Math.sin(2 * Math.PI * note.hz * dt) * envelope;
    }
    // About -18 dBFS at the peak: audible, never harsh.
    out[i] = linearToMulaw(Math.round(sample * 4000));
  }
  return out;
}

/** Splits μ-law audio into base64 20 ms frames (the last one padded with silence). */
export function toFrames(audio: Uint8Array): Base64[] {
  const frames: Base64[] = [];
  for (let start = 0; start < audio.length; start += FRAME_BYTES) {
    const frame = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    frame.set(audio.subarray(start, start + FRAME_BYTES));
    frames.push(encodeBase64(frame));
  }
  return frames;
}

/**
 * The frames of the waiting sound for a `WAITING_SOUND` setting: `"on"` the
 * built-in chime, `"off"` none, else the path of a raw 8 kHz μ-law file.
 * Throws an error that names the file and what is wrong with it.
 */
export function loadWaitingSound(
  setting: string,
  readFile: (path: string) => Uint8Array = Deno.readFileSync,
): Base64[] | undefined {
  if (setting === "off") return undefined;
  if (setting === "on") return toFrames(builtInWaitingSound());
  let audio: Uint8Array;
  try {
    audio = readFile(setting);
  } catch (error) {
    throw new Error(
      `WAITING_SOUND=${setting}: the file cannot be read (${
        errorMessage(error)
      }). Give the path of a raw 8 kHz μ-law file, or WAITING_SOUND=on or off.`,
    );
  }
  if (audio.length < FRAME_BYTES || audio.length > MAX_FILE_BYTES) {
    throw new Error(
      `WAITING_SOUND=${setting}: the file has ${audio.length} bytes; a raw 8 kHz μ-law sound of 20 ms to 30 s has 160 to 240000. Convert one with: sox in.wav -r 8000 -c 1 -e mu-law -t raw out.ulaw`,
    );
  }
  return toFrames(audio);
}
