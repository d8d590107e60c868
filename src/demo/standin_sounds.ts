/**
 * The sounds of the Realtime stand-in (μ-law, 8 kHz): tone patterns for its
 * greeting, farewell, echo beep and tool confirmation, its "voice" for text
 * it is told to say (one tone per word), and a byte joiner.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinBytes, tonePattern } from "./standin_sounds.ts";
 * const beep = tonePattern([[880, 100], [0, 50]]);
 * assert.equal(beep.length, 150 * 8);
 * assert.equal(joinBytes([beep, beep]).length, 300 * 8);
 * ```
 *
 * @module
 */
import { encodeMulaw } from "../audio/mulaw.js";
import { BYTES_PER_MS } from "../audio/frames.js";

/** μ-law tones: each note is [frequency Hz (0 = silence), ms]. */
export function tonePattern(notes: ReadonlyArray<readonly [number, number]>, level = 0.25) {
  const total = notes.reduce((sum, [, ms]) => sum + ms * BYTES_PER_MS, 0);
  const samples = new Int16Array(total);
  let offset = 0;
  for (const [frequency, ms] of notes) {
    const n = ms * BYTES_PER_MS;
    const fade = Math.min(80, n / 4); // 10 ms fades: no clicks
    for (let i = 0; i < n; i++) {
      const envelope = Math.min(1, i / fade, (n - 1 - i) / fade);
      samples[offset + i] = frequency === 0
        ? 0
        : Math.round(32767 * level * envelope * Math.sin((2 * Math.PI * frequency * i) / 8000));
    }
    offset += n;
  }
  return encodeMulaw(samples);
}

/** The greeting chime (rising). */
export const GREETING_TONES = tonePattern([[523, 160], [0, 40], [659, 160], [0, 40], [784, 260]]);
/** The farewell chime (falling). */
export const FAREWELL_TONES = tonePattern([[784, 160], [0, 40], [659, 160], [0, 40], [523, 320]]);
/** The beep before an echo. */
export const ECHO_BEEP = tonePattern([[880, 120], [0, 80]], 0.15);
/** The chime before a tool confirmation (three rising notes). */
export const TOOL_CHIME = tonePattern(
  [[988, 90], [0, 30], [1319, 90], [0, 30], [1568, 140], [0, 80]],
  0.2,
);

/**
 * The stand-in's voice for `text` it was told to say word for word (an
 * agent's greeting): one tone per word, its pitch from the word's letters, its
 * length from the word's, a pause after each word and a longer one at
 * punctuation, so the audio lasts about as long as speaking the text would.
 */
export function spokenTones(text: string): Uint8Array {
  const notes: [number, number][] = [];
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const letters = word.replace(/[^\p{L}\p{N}]/gu, "");
    if (letters !== "") {
      let sum = 0;
      for (const char of letters.toLowerCase()) sum += char.codePointAt(0) ?? 0;
      notes.push([330 + (sum % 12) * 20, Math.min(420, 80 + 45 * letters.length)]);
    }
    notes.push([0, /[.!?;:,]$/.test(word) ? 220 : 60]);
  }
  return tonePattern(notes, 0.2);
}

/** The parts, one after the other. */
export function joinBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
