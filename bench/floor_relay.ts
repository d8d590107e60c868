/**
 * The floor for `deno task bench --floor`: the least a bridge built on this
 * project's two WebSocket stacks can cost. It relays like the bridge
 * (`Deno.serve` + `Deno.upgradeWebSocket` for Twilio, Deno's native
 * `WebSocket` client for OpenAI; each caller frame becomes one
 * `input_audio_buffer.append`, each audio delta one Twilio `media`) and does
 * nothing else: no validation, no marks, no barge-in, no session handling,
 * metrics or logs, and no WebSocket idle timeout (the bridge finds a dead
 * stream by its silence, without a timer per message). Measured in the same run as the bridge and Twilio's Node
 * sample, its CPU shows how much of the bridge's CPU is the design's (the
 * WebSocket stacks) and how much is the bridge's own code above them.
 *
 * Not for calls: it trusts every byte it receives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { floorRelay } from "./floor_relay.ts";
 * const handle = floorRelay("ws://127.0.0.1:9/v1/realtime");
 * const response = handle(new Request("http://localhost/media-stream"));
 * assert.equal(response.status, 426); // only WebSocket upgrades are relayed
 * ```
 *
 * @module
 */

/**
 * The floor's relay between a Twilio media socket and a Realtime socket: each
 * caller frame becomes one `input_audio_buffer.append` (queued until the
 * Realtime socket opens), each audio delta one Twilio `media`, a close on
 * either side closes the other. `bench/runner_bench.ts` runs the same
 * handlers on in-memory sockets.
 */
export function relayFloor(twilio: WebSocket, openai: WebSocket): void {
  let streamSid = "";
  const early: string[] = [];
  openai.addEventListener("open", () => {
    for (const append of early) openai.send(append);
    early.length = 0;
  });
  twilio.addEventListener("message", (e) => {
    const message = JSON.parse(e.data);
    if (message.event === "start") streamSid = message.start.streamSid;
    if (message.event !== "media") return;
    const append = `{"type":"input_audio_buffer.append","audio":"${message.media.payload}"}`;
    if (openai.readyState === WebSocket.OPEN) openai.send(append);
    else early.push(append);
  });
  openai.addEventListener("message", (e) => {
    const event = JSON.parse(e.data);
    if (event.type !== "response.output_audio.delta") return;
    if (twilio.readyState !== WebSocket.OPEN) return;
    twilio.send(JSON.stringify({ event: "media", streamSid, media: { payload: event.delta } }));
  });
  twilio.addEventListener("close", () => openai.close());
  openai.addEventListener("close", () => {
    if (twilio.readyState === WebSocket.OPEN) twilio.close();
  });
}

/** A request handler that relays media streams to the Realtime server at `openaiUrl`. */
export function floorRelay(openaiUrl: string): (request: Request) => Response {
  return (request) => {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("WebSocket upgrade expected.\n", { status: 426 });
    }
    // Without Deno's idle timeout, as the bridge runs (STREAM_SILENCE_SECONDS): it re-arms a timer
    // on every message, a cost the design does not need.
    const { socket: twilio, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    relayFloor(twilio, new WebSocket(openaiUrl, ["realtime", "openai-insecure-api-key.floor"]));
    return response;
  };
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? "5050");
  const url = Deno.env.get("OPENAI_REALTIME_URL");
  if (url === undefined) {
    console.error("OPENAI_REALTIME_URL must point at a Realtime server (bench/echo_realtime.ts).");
    Deno.exit(2);
  }
  Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, floorRelay(url));
}
