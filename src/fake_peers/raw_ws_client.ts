/**
 * A minimal WebSocket client over a raw TCP connection, for the fake Twilio
 * of the tests, the benchmark's load generator, and tests that need control
 * the browser-style `WebSocket` does not give: `TCP_NODELAY` (Deno's
 * `WebSocket` client turns it off, seen with `strace`: Nagle's algorithm then
 * holds a small message back until the previous one is acknowledged, and
 * Linux delays that acknowledgement by up to 40 ms, so two mark echoes sent
 * together arrive ~40 ms apart — Twilio's media servers do not behave like
 * that), and a peer that stops reading (to test backpressure).
 *
 * Text and binary frames, close codes and reasons, extra upgrade headers;
 * client-to-server frames masked with a zero key (allowed by RFC 6455 §5.3;
 * the payload bytes are then unchanged), no extensions, `ws://` only.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@link RawWebSocket.connect}. */
export interface RawWebSocketOptions {
  /** `Sec-WebSocket-Protocol` values to offer. */
  protocols?: string[];
  /** Set `TCP_NODELAY` (default true). */
  noDelay?: boolean;
  /**
   * Start reading frames (default true). False: not until {@link RawWebSocket.startReading}
   * (e.g. once the message handlers are set).
   */
  read?: boolean;
  /** Extra headers of the upgrade request (e.g. `X-Twilio-Signature`). */
  headers?: HeadersInit;
  /** Give up the handshake after this many ms (default: no limit). */
  timeoutMs?: number;
}

/** How the connection closed: the peer's close code and reason (1005: none given, 1006: dropped). */
export interface RawCloseInfo {
  code: number;
  reason: string;
}

/**
 * One client WebSocket connection.
 *
 * @example
 * ```ts ignore
 * import { RawWebSocket } from "./raw_ws_client.ts";
 * const ws = await RawWebSocket.connect("ws://127.0.0.1:8080/media-stream");
 * ws.onmessage = (text) => console.log(text);
 * ws.send('{"event":"connected"}');
 * await ws.close();
 * ```
 */
export class RawWebSocket {
  #conn: Deno.TcpConn;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  #closeSent = false;
  #reading = false;
  #buffer: Uint8Array;
  /** Called with each text message. */
  onmessage: (text: string) => void = () => {};
  /** Called with each binary message. */
  onbinary: (bytes: Uint8Array) => void = () => {};
  /** The peer's close frame (1006 until one arrives: the connection dropped). */
  closeInfo: RawCloseInfo = { code: 1006, reason: "" };
  /** The subprotocol the server chose ("" when none). */
  protocol = "";
  /** Called once when the connection ends. */
  onclose: () => void = () => {};
  /** Resolves when the connection has ended. */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(conn: Deno.TcpConn, rest: Uint8Array) {
    this.#conn = conn;
    this.#buffer = rest;
    this.closed = new Promise((r) => this.#resolveClosed = r);
  }

  /** Bytes handed to {@link send} and not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#queued;
  }

  /** Whether the connection is still open. */
  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Whether a close frame was sent or received (nothing more can be sent). */
  get closing(): boolean {
    return this.#closeSent;
  }

  /** Starts reading frames, when connected with `read: false` (once). */
  startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#readLoop();
  }

  /** Opens the TCP connection and performs the WebSocket handshake. */
  static async connect(url: string, options: RawWebSocketOptions = {}): Promise<RawWebSocket> {
    const u = new URL(url);
    if (u.protocol !== "ws:") throw new Error(`Only ws:// URLs are supported, got ${url}.`);
    const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
    const conn = await Deno.connect({ hostname, port: Number(u.port || 80) });
    if (options.noDelay ?? true) conn.setNoDelay(true);
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      conn.close();
    }, options.timeoutMs);
    try {
      return await RawWebSocket.#handshake(conn, u, options);
    } catch (error) {
      if (timedOut) {
        throw new Error(`The WebSocket handshake timed out after ${options.timeoutMs} ms.`);
      }
      conn.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  static async #handshake(
    conn: Deno.TcpConn,
    u: URL,
    options: RawWebSocketOptions,
  ): Promise<RawWebSocket> {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${u.pathname}${u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
    ];
    if (options.protocols?.length) {
      lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(", ")}`);
    }
    for (const [name, value] of new Headers(options.headers)) lines.push(`${name}: ${value}`);
    await writeAll(conn, encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
    let head: Uint8Array = new Uint8Array(0);
    for (;;) {
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) {
        throw new Error("The server closed the connection during the WebSocket handshake.");
      }
      head = concat(head, chunk.subarray(0, n));
      const end = indexOfHeaderEnd(head);
      if (end >= 0) {
        const [status, ...headers] = decoder.decode(head.subarray(0, end)).split("\r\n");
        if (!status.includes(" 101 ")) {
          throw new Error(`The WebSocket handshake failed: ${status}.`);
        }
        const ws = new RawWebSocket(conn, head.subarray(end + 4));
        const chosen = headers.find((h) => /^sec-websocket-protocol:/i.test(h));
        if (chosen !== undefined) ws.protocol = chosen.slice(chosen.indexOf(":") + 1).trim();
        if (options.read ?? true) ws.startReading();
        return ws;
      }
      if (head.length > 16_384) {
        throw new Error("The WebSocket handshake response is too long.");
      }
    }
  }

  /** Sends one text message (queued while an earlier write is in progress). */
  send(text: string): void {
    if (this.#closed || this.#closeSent) return;
    this.#enqueue(frame(0x1, encoder.encode(text)));
  }

  /** Sends one binary message (queued while an earlier write is in progress). */
  sendBinary(bytes: Uint8Array): void {
    if (this.#closed || this.#closeSent) return;
    this.#enqueue(frame(0x2, bytes));
  }

  /** Sends a close frame, waits (2 s at most) for the peer's, and closes the connection. */
  async close(code = 1000, reason = ""): Promise<void> {
    if (this.#closed) return;
    if (!this.#closeSent) {
      this.#closeSent = true;
      const text = encoder.encode(reason);
      const payload = new Uint8Array(2 + text.length);
      payload.set([code >> 8, code & 0xff]);
      payload.set(text, 2);
      this.#enqueue(frame(0x8, payload));
    }
    const timeout = new Promise<void>((r) => {
      const id = setTimeout(r, 2000);
      this.closed.then(() => clearTimeout(id));
    });
    await Promise.race([this.closed, timeout]);
    this.#end();
  }

  /** Closes the TCP connection at once, without a close frame. */
  abort(): void {
    this.#end();
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.onclose();
    this.#resolveClosed();
  }

  #enqueue(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#writing) this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Everything queued meanwhile goes out in one write.
        const chunk = this.#queue.length === 1 ? this.#queue[0] : concatAll(this.#queue);
        this.#queue = [];
        await writeAll(this.#conn, chunk);
        this.#queued -= chunk.length;
      }
    } catch {
      this.#end();
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    let fragments: Uint8Array[] = [];
    let binary = false;
    try {
      for (;;) {
        // Parse every complete frame in the buffer.
        for (;;) {
          const f = parseFrame(this.#buffer);
          if (f === undefined) break;
          this.#buffer = this.#buffer.subarray(f.size);
          if (f.opcode === 0x8) {
            this.closeInfo = f.payload.length >= 2
              ? {
                code: (f.payload[0] << 8) | f.payload[1],
                reason: decoder.decode(f.payload.subarray(2)),
              }
              : { code: 1005, reason: "" };
            if (!this.#closeSent) {
              this.#closeSent = true;
              this.#queue.push(frame(0x8, f.payload.slice(0, 2)));
              await this.#flush();
            }
            this.#end();
            return;
          }
          if (f.opcode === 0x9) {
            this.#enqueue(frame(0xa, f.payload.slice()));
            continue;
          }
          if (f.opcode === 0x1 || f.opcode === 0x2 || f.opcode === 0x0) {
            if (f.opcode !== 0x0) binary = f.opcode === 0x2;
            let message: Uint8Array | undefined;
            if (f.fin && fragments.length === 0) {
              message = f.payload;
            } else {
              fragments.push(f.payload.slice());
              if (f.fin) {
                message = concatAll(fragments);
                fragments = [];
              }
            }
            if (message !== undefined) {
              if (binary) this.onbinary(message.slice());
              else this.onmessage(decoder.decode(message));
            }
          }
        }
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#buffer = this.#buffer.length === 0
          ? chunk.slice(0, n)
          : concat(this.#buffer, chunk.subarray(0, n));
      }
    } catch {
      // The connection broke.
    }
    this.#end();
  }
}

function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const headLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(headLen + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  // Mask key 0,0,0,0 (already zero): the payload is sent as is.
  out.set(payload, headLen + 4);
  return out;
}

function parseFrame(
  buf: Uint8Array,
): { fin: boolean; opcode: number; payload: Uint8Array; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = (buf[2] << 8) | buf[3];
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
    at = 10;
  }
  let mask: Uint8Array | undefined;
  if (masked) {
    if (buf.length < at + 4) return undefined;
    mask = buf.subarray(at, at + 4);
    at += 4;
  }
  if (buf.length < at + len) return undefined;
  let payload = buf.subarray(at, at + len);
  if (mask !== undefined) {
    payload = payload.slice();
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  }
  return { fin, opcode, payload, size: at + len };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOfHeaderEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}
