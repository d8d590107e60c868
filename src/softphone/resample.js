/**
 * A streaming downsampler for the softphone page: microphone audio at the
 * AudioContext's rate (usually 48 kHz) to the 8 kHz of a phone line, with a
 * windowed-sinc low-pass (cut-off below 4 kHz) so nothing aliases. Plain ES
 * module, served at `/softphone/resample.js` and tested under Deno.
 *
 * @example
 * ```ts
 * import { Downsampler } from "./resample.js";
 * const down = new Downsampler(48000, 8000);
 * const out = down.push(new Float32Array(4800)); // 100 ms in
 * if (Math.abs(out.length - 800) > 16) throw new Error("expected about 800 samples");
 * ```
 *
 * @module
 */

const HALF_TAPS = 16;

/** Converts a stream of float samples from one rate to a lower one. */
export class Downsampler {
  /**
   * @param {number} inputRate samples per second in, e.g. 48000
   * @param {number} outputRate samples per second out, e.g. 8000
   */
  constructor(inputRate, outputRate) {
    if (!(inputRate > 0) || !(outputRate > 0) || outputRate > inputRate) {
      throw new RangeError(
        `Downsampler needs 0 < outputRate <= inputRate, got ${inputRate} → ${outputRate}.`,
      );
    }
    /** @type {number} input samples per output sample */
    this.step = inputRate / outputRate;
    // Cut-off at 0.45 of the output rate (3.6 kHz for 8 kHz), relative to the input rate.
    this.cutoff = (0.45 * outputRate) / inputRate;
    this.reach = Math.ceil(HALF_TAPS * this.step);
    /** @type {Float32Array} input kept from earlier chunks */
    this.history = new Float32Array(0);
    /** position of the next output sample, in input samples relative to history[0] */
    this.position = 0;
  }

  /**
   * Feeds input samples; returns the output samples they complete.
   *
   * @param {Float32Array} input samples at the input rate
   * @returns {Float32Array} samples at the output rate
   */
  push(input) {
    const buf = new Float32Array(this.history.length + input.length);
    buf.set(this.history);
    buf.set(input, this.history.length);
    const out = [];
    const reach = this.reach;
    const fc = this.cutoff;
    while (this.position + reach < buf.length) {
      const center = this.position;
      const first = Math.max(0, Math.ceil(center - reach));
      const last = Math.floor(center + reach);
      let acc = 0;
      let norm = 0;
      for (let i = first; i <= last; i++) {
        const x = i - center;
        const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
        const window = 0.5 + 0.5 * Math.cos((Math.PI * x) / (reach + 1)); // Hann
        const w = sinc * window;
        acc += buf[i] * w;
        norm += w;
      }
      out.push(norm !== 0 ? acc / norm : 0);
      this.position += this.step;
    }
    // Keep what the next outputs still need.
    const keepFrom = Math.max(0, Math.floor(this.position - reach) - 1);
    this.history = buf.slice(keepFrom);
    this.position -= keepFrom;
    return Float32Array.from(out);
  }
}
