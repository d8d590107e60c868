/**
 * A minimal fake OpenAI Realtime server in echo mode, for the load benchmark.
 * Every `input_audio_buffer.append` comes straight back as one
 * `response.output_audio.delta` with the same audio (one `response.created`
 * comes before the first). It answers `session.update` with
 * `session.updated` and ignores everything else. Listens on 127.0.0.1 only.
 *
 * Run on its own: `deno run --allow-net bench/echo_realtime.ts [port]`; it
 * prints `listening <port>` once ready.
 *
 * @module
 */

const APPEND_PREFIX = '{"type":"input_audio_buffer.append"';
const AUDIO_KEY = '"audio":"';

/** The base64 `audio` of an append frame, read without parsing it (undefined when it has none). */
function appendedAudio(text: string): string | undefined {
  const at = text.indexOf(AUDIO_KEY);
  if (at < 0) return undefined;
  const from = at + AUDIO_KEY.length;
  const to = text.indexOf('"', from);
  return to < 0 ? undefined : text.slice(from, to);
}

/** A running echo server. */
export interface EchoRealtime {
  /** Port on 127.0.0.1. */
  port: number;
  /** Sessions currently open. */
  readonly sessions: number;
  /** Stops the server and closes every session. */
  close(): Promise<void>;
}

function echoSession(socket: WebSocket, sessionNo: number): void {
  const responseId = `resp_bench${sessionNo}`;
  const itemId = `item_bench${sessionNo}`;
  const deltaPrefix =
    `{"type":"response.output_audio.delta","event_id":"event_bench","response_id":"${responseId}","item_id":"${itemId}","output_index":0,"content_index":0,"delta":"`;
  let responded = false;
  socket.onopen = () => {
    socket.send(
      `{"type":"session.created","event_id":"event_bench","session":{"type":"realtime","id":"sess_bench${sessionNo}","object":"realtime.session","model":"gpt-realtime"}}`,
    );
  };
  socket.onmessage = (e) => {
    const text = e.data;
    if (typeof text !== "string") return;
    if (text.startsWith(APPEND_PREFIX)) {
      const audio = appendedAudio(text);
      if (audio === undefined) return;
      if (!responded) {
        responded = true;
        socket.send(
          `{"type":"response.created","event_id":"event_bench","response":{"id":"${responseId}","object":"realtime.response","status":"in_progress","output":[]}}`,
        );
      }
      socket.send(deltaPrefix + audio + '"}');
    } else if (text.includes('"session.update"')) {
      socket.send(
        `{"type":"session.updated","event_id":"event_bench","session":{"type":"realtime","id":"sess_bench${sessionNo}"}}`,
      );
    }
  };
  socket.onerror = () => {};
}

const LIVE_APPEND_PREFIX = '{"type":"session.input_audio.append"';

/**
 * A GPT-Live session that echoes (`/v1/live/sessions`): `session.started`
 * after `session.start`, then each appended chunk back as one
 * `session.output_audio.delta` (the bench's frames are audible: their tag),
 * so the bridge's GPT-Live adapter is on the measured path.
 */
function echoLiveSession(socket: WebSocket, sessionNo: number): void {
  socket.onmessage = (e) => {
    const text = e.data;
    if (typeof text !== "string") return;
    if (text.startsWith(LIVE_APPEND_PREFIX)) {
      const audio = appendedAudio(text);
      if (audio === undefined) return;
      socket.send(`{"type":"session.output_audio.delta","delta":"${audio}"}`);
    } else if (text.includes('"session.start"')) {
      socket.send(
        `{"type":"session.started","event_id":"event_bench","session":{"id":"live_bench${sessionNo}","expires_at":${
          Math.floor(Date.now() / 1000) + 3600
        },"model":"gpt-live-1","instructions":"","audio":{"output":{"voice":"marin"},"format":{"type":"audio/pcmu","rate":8000}},"delegation":null,"status":"active","input":[]}}`,
      );
    }
  };
  socket.onerror = () => {};
}

/**
 * Starts the echo server on 127.0.0.1.
 *
 * @example
 * ```ts ignore
 * import { startEchoRealtime } from "./echo_realtime.ts";
 * const echo = startEchoRealtime({ port: 0 });
 * console.log(`ws://127.0.0.1:${echo.port}/v1/realtime`);
 * await echo.close();
 * ```
 */
export function startEchoRealtime(options: { port?: number } = {}): EchoRealtime {
  const sockets = new Set<WebSocket>();
  let seq = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    (request) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("echo realtime\n");
      }
      if (new URL(request.url).pathname.endsWith("/live/sessions")) {
        const { socket, response } = Deno.upgradeWebSocket(request);
        sockets.add(socket);
        socket.addEventListener("close", () => sockets.delete(socket));
        echoLiveSession(socket, ++seq);
        return response;
      }
      const protocols = request.headers.get("sec-websocket-protocol") ?? "";
      const { socket, response } = Deno.upgradeWebSocket(request, {
        ...(protocols.includes("realtime") ? { protocol: "realtime" } : {}),
      });
      sockets.add(socket);
      socket.addEventListener("close", () => sockets.delete(socket));
      echoSession(socket, ++seq);
      return response;
    },
  );
  return {
    port: (server.addr as Deno.NetAddr).port,
    get sessions() {
      return sockets.size;
    },
    async close() {
      for (const s of sockets) {
        if (s.readyState === WebSocket.OPEN) s.close(1000, "bench over");
      }
      await server.shutdown();
    },
  };
}

if (import.meta.main) {
  const echo = startEchoRealtime({ port: Number(Deno.args[0] ?? 0) });
  console.log(`listening ${echo.port}`);
  Deno.addSignalListener("SIGTERM", () => echo.close().then(() => Deno.exit(0)));
}
