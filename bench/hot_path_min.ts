/**
 * Hot-path timing that holds up on a busy machine: the per-frame cost of
 * the relay's two full paths (parse → core → encode), as the best of many
 * short batches (the minimum is what the code costs when nothing else
 * interrupts it). Runs the checkout it lives in, or another one given with
 * `--root=DIR` (e.g. `git archive <commit> | tar -x -C /tmp/before`), so a
 * change is compared before/after in one run:
 *
 *     deno run --allow-read bench/hot_path_min.ts --root=/tmp/before
 *     deno run --allow-read bench/hot_path_min.ts
 *
 * Works with the call core before and after its commands became typed
 * (`send_openai`/`send_twilio` strings, or `to_openai`/`to_twilio` objects
 * encoded here as the runner does).
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { openaiDeltaText, TWILIO_START, twilioMediaText } from "./hot_path_fixtures.ts";

const rootArg = Deno.args.find((a) => a.startsWith("--root="))?.slice(7);
const root = rootArg === undefined
  ? new URL("..", import.meta.url).href
  : new URL(`file://${rootArg.endsWith("/") ? rootArg : `${rootArg}/`}`).href;

const core: any = await import(`${root}src/core/call_core.ts`);
const twilio: any = await import(`${root}src/twilio/media_stream_messages.ts`);
const server: any = await import(`${root}src/openai/server_events.ts`);
const client: any = await import(`${root}src/openai/client_events.ts`);

let audio = "";
for (let i = 0; i < 160; i++) audio += String.fromCharCode((i * 37) & 0xff);
const AUDIO = btoa(audio);
const TWILIO_MEDIA = twilioMediaText(AUDIO);
const OPENAI_DELTA = openaiDeltaText(AUDIO);

const typed = typeof client.encodeClientEvent === "function";
const update = { type: "session.update", session: { type: "realtime" } };

function liveCore(): { c: any; tick: () => number } {
  const c = new core.CallCore({ sessionUpdate: typed ? update : JSON.stringify(update) });
  c.handle({ type: "begin" }, 0);
  c.handle({ type: "openai_open", generation: 1 }, 0);
  const start = twilio.parseTwilioMessage(TWILIO_START);
  c.handle({ type: "twilio_message", message: start.value }, 0);
  let t = 0;
  return { c, tick: () => (t += 20) };
}

/** What the runner writes to the sockets for `commands`. */
function encode(commands: any[]): number {
  let bytes = 0;
  for (const cmd of commands) {
    if (cmd.type === "send_openai" || cmd.type === "send_twilio") bytes += cmd.data.length;
    else if (cmd.type === "to_openai") bytes += client.encodeClientEvent(cmd.event).length;
    else if (cmd.type === "to_twilio") bytes += twilio.encodeTwilioMessage(cmd.message).length;
  }
  return bytes;
}

function best(name: string, step: () => number): void {
  const batches = 40;
  const perBatch = 5000;
  let min = Infinity;
  let sink = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) sink += step();
    min = Math.min(min, (performance.now() - t0) / perBatch);
  }
  if (sink === 0) throw new Error("nothing was encoded");
  console.log(`${name}: ${(min * 1e6).toFixed(0)} ns per frame (best of ${batches} × ${perBatch})`);
}

{
  const { c, tick } = liveCore();
  best("Twilio frame → append event", () => {
    const r = twilio.parseTwilioMessage(TWILIO_MEDIA);
    return encode(c.handle({ type: "twilio_message", message: r.value }, tick()));
  });
}
{
  const { c, tick } = liveCore();
  best("audio delta → Twilio media (+ marks)", () => {
    const r = server.parseServerEvent(OPENAI_DELTA);
    return encode(c.handle({ type: "openai_event", event: r.event, generation: 1 }, tick()));
  });
}
