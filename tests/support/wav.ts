/**
 * 16-bit PCM WAV files, as sox and espeak-ng write them and as the softphone
 * tests compare them: read the samples and rate, or write mono samples.
 *
 * @example
 * ```ts
 * import { readWav16, writeWav16 } from "./wav.ts";
 *
 * const wav = readWav16(writeWav16(new Int16Array([0, 1000, -1000]), 8000));
 * if (wav.rate !== 8000 || wav.channels !== 1 || wav.samples[2] !== -1000) throw new Error();
 * ```
 *
 * @module
 */

/** The samples of a 16-bit PCM WAV file, and its rate. */
export function readWav16(
  bytes: Uint8Array,
): { rate: number; channels: number; samples: Int16Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => new TextDecoder().decode(bytes.subarray(at, at + 4));
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error("Not a RIFF/WAVE file.");
  let offset = 12;
  let rate = 0;
  let channels = 0;
  let bits = 0;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      channels = view.getUint16(body + 2, true);
      rate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
    } else if (id === "data") {
      if (bits !== 16) throw new Error(`Expected 16-bit PCM, got ${bits} bits.`);
      // espeak-ng writes a data size of 0x7fffffff when streaming: clamp to the file.
      size = Math.min(size, bytes.length - body);
      const samples = new Int16Array(Math.floor(size / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + i * 2, true);
      return { rate, channels, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error("The WAV file has no data chunk.");
}

/** A 16-bit mono PCM WAV file. */
export function writeWav16(samples: Int16Array, rate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => bytes.set(new TextEncoder().encode(s), at);
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + i * 2, samples[i], true);
  return bytes;
}
