/**
 * The softphone in a real browser: Debian's headless Chromium, its fake
 * microphone fed from a WAV of real speech (espeak-ng), against the offline
 * demo (the same `startDemo` that `deno task demo` runs).
 */
import assert from "node:assert/strict";
import type { CallSummary } from "../src/bridge/call_summary.ts";
import { startDemo } from "../src/demo/demo.ts";
import { type Chromium, openSoftphone } from "./support/chromium.ts";
import { requireCommand, run } from "./support/system_tools.ts";
import { readWav16, writeWav16 } from "./support/wav.ts";
import { waitUntil } from "./support/wait.ts";

const SCREENSHOT_DIR = new URL("../test-output/", import.meta.url);

/**
 * The microphone: a phrase, then 0.9 s of silence, looped by Chromium. The
 * stand-in ends the caller's turn after 0.5 s of silence and plays the words
 * back; the loop's next phrase starts while that reply is playing: a barge-in.
 */
async function microphoneWav(dir: string): Promise<string> {
  const espeak = await requireCommand("espeak-ng", "espeak-ng");
  const speech = `${dir}/phrase.wav`;
  await run(espeak, ["-s", "170", "-w", speech, "Hello, I would like to book a viewing."]);
  const { rate, samples } = readWav16(await Deno.readFile(speech));
  const padded = new Int16Array(samples.length + Math.round(rate * 0.9));
  padded.set(samples);
  const wav = `${dir}/microphone.wav`;
  await Deno.writeFile(wav, writeWav16(padded, rate));
  return wav;
}

type PageState = {
  status: string;
  statusHistory: string[];
  framesSent: number;
  audioReceivedMs: number;
  marksPlayed: number;
  marksFlushed: number;
  clears: number;
  clearedMs: number;
  micPeak: number;
  ended: boolean;
  closeCode: number | null;
  error: string | null;
};

Deno.test({
  name: "browser softphone: call, speech reaches the server, reply plays, barge-in clears, hang-up",
  // The page's WebSocket and the browser live in another process; the demo is shut down inside.
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    const chromiumPath = await requireCommand("/usr/bin/chromium", "chromium");
    const dir = await Deno.makeTempDir({ prefix: "softphone_browser_" });
    const finished: CallSummary[] = [];
    const demo = startDemo({
      // No greeting: the first audio the caller hears is the reply to their words.
      env: { LOG_LEVEL: "error", GREETING: "off" },
      standin: { silenceTimeoutMs: 60_000 },
      server: { port: 0, hostname: "127.0.0.1", onCallFinished: (s) => finished.push(s) },
    });
    let browser: Chromium | undefined;
    try {
      const wav = await microphoneWav(dir);
      const opened = await openSoftphone(chromiumPath, demo.server.localUrl + "/", wav);
      browser = opened.browser;
      const page = opened.page;
      assert.equal(await page.evaluate("document.title"), "Softphone · voice-agent bridge");
      assert.equal(await page.evaluate("softphone.status"), "idle");

      await page.click("#call");
      await page.waitFor(
        "softphone.status !== 'idle' && softphone.status !== 'connecting'",
        10_000,
        "the call connects",
      );
      // The caller's speech reaches the server: the stand-in heard a whole turn.
      await waitUntil(
        () => demo.standin.stats.turns >= 1,
        15_000,
        "a caller turn reaches the stand-in",
      );
      // The reply plays and, when the phrase comes round again, is interrupted.
      await page.waitFor(
        "softphone.clears >= 1 && softphone.marksPlayed >= 5",
        15_000,
        "a played reply and a barge-in",
      );
      await waitUntil(
        () => demo.standin.stats.truncates >= 1,
        5_000,
        "the bridge truncates the reply",
      );
      const during = await page.evaluate<PageState>("({...softphone})");
      await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
      const screenshot = new URL("softphone_in_call.png", SCREENSHOT_DIR);
      await Deno.writeFile(screenshot, await page.screenshot());
      console.log(`Softphone screenshot (in call): ${screenshot.pathname}`);

      await page.click("#hangup");
      await page.waitFor("softphone.ended", 5_000, "the page ends the call");
      await waitUntil(() => finished.length === 1, 5_000, "the server finishes the call");
      const after = await page.evaluate<PageState>("({...softphone})");
      await Deno.writeFile(new URL("softphone_ended.png", SCREENSHOT_DIR), await page.screenshot());
      const console_ = browser.consoleOf(page.sessionId);

      assert.equal(during.error, null, `no page error; console: ${console_.join(" | ")}`);
      assert.ok(during.framesSent >= 50, `20 ms media frames were sent (${during.framesSent})`);
      assert.ok(during.micPeak > 0.02, `the fake microphone carried speech (${during.micPeak})`);
      assert.ok(
        demo.standin.stats.heardSpeechMs >= 800,
        `speech heard: ${demo.standin.stats.heardSpeechMs} ms`,
      );
      assert.ok(
        during.audioReceivedMs >= 1000,
        `reply audio arrived (${during.audioReceivedMs} ms)`,
      );
      assert.ok(during.marksPlayed >= 5, "marks were echoed as their audio played");
      assert.ok(during.clears >= 1 && during.clearedMs > 0, "a barge-in cleared queued audio");
      for (const status of ["connecting", "assistant speaking", "you speaking", "interrupted"]) {
        assert.ok(
          during.statusHistory.includes(status),
          `status "${status}" was shown: ${during.statusHistory.join(", ")}`,
        );
      }
      assert.ok(
        after.ended && after.closeCode === 1000,
        `the page closed the stream (${after.closeCode})`,
      );
      assert.equal(finished[0].softphone, true);
      assert.equal(finished[0].outcome, "caller_hung_up");
      assert.ok(finished[0].stats.bargeIns >= 1);
      assert.equal(
        demo.standin.stats.rejectedTruncates,
        0,
        "every truncate was within the audio sent",
      );
    } finally {
      await browser?.close();
      await demo.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
