/**
 * A microphone the test speaks into when the call has reached the moment it
 * wants (over the greeting, say), for browser tests whose speech must land at a
 * point of the call rather than at a fixed time after the page opened its
 * microphone.
 *
 * Chromium's fake capture device (`--use-file-for-fake-audio-capture`) starts
 * its file when the page calls `getUserMedia`, and the softphone does that
 * before its call's socket opens; the page drops what the microphone hears until
 * then. Speech placed 1.2 s into the file lands over the greeting on an idle
 * machine (the socket opens about 0.2 s after the click), but on two cores busy
 * with another test file the call can take longer than that to connect, and the
 * speech is then never sent. This microphone is silent until {@linkcode
 * PageMicrophone.say} and plays on the page's own audio clock; everything from
 * the page's `MediaStream` on (capture node, resampler, μ-law, the socket) is
 * the softphone's own code.
 *
 * @module
 */
import { encodeBase64 } from "../../src/audio/base64.ts";
import type { ChromiumPage } from "./chromium.ts";

/** A microphone installed in a page by {@linkcode installPageMicrophone}. */
export interface PageMicrophone {
  /**
   * Plays `wav` (a WAV file's bytes) into the microphone, `afterMs` from now on
   * the page's audio clock; resolves when it is scheduled.
   */
  say(wav: Uint8Array, afterMs?: number): Promise<void>;
}

/**
 * Replaces the page's `navigator.mediaDevices.getUserMedia` with a silent
 * microphone that {@linkcode PageMicrophone.say} speaks into. Call it after
 * the page loaded, before the page asks for the microphone.
 */
export async function installPageMicrophone(page: ChromiumPage): Promise<PageMicrophone> {
  await page.evaluate(`(() => {
    const ctx = new AudioContext();
    const out = ctx.createMediaStreamDestination();
    globalThis.__testMicrophone = {
      async say(base64, afterMs) {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const buffer = await ctx.decodeAudioData(bytes.buffer);
        await ctx.resume();
        const node = ctx.createBufferSource();
        node.buffer = buffer;
        node.connect(out);
        node.start(ctx.currentTime + afterMs / 1000);
      },
    };
    navigator.mediaDevices.getUserMedia = async () => {
      await ctx.resume();
      return out.stream;
    };
  })()`);
  return {
    async say(wav: Uint8Array, afterMs = 0): Promise<void> {
      await page.evaluate(
        `globalThis.__testMicrophone.say(${JSON.stringify(encodeBase64(wav))}, ${afterMs})`,
      );
    },
  };
}
