/**
 * Starting and stopping the HTTP server around the bridge application.
 *
 * @module
 */
import { type App, type AppOptions, createApp } from "./app.ts";

/** A running server. */
export interface RunningServer {
  /** The application (handler and live calls). */
  app: App;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Base URL for local requests, e.g. `http://127.0.0.1:5050`. */
  localUrl: string;
  /** Stops accepting connections, closes all sockets and resolves when done. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Options of {@link startServer}: the app's options plus where to listen. */
export interface StartServerOptions extends AppOptions {
  /** Port to listen on; default `config.port`. 0 picks a free port. */
  port?: number;
  /** Host name to listen on; default `config.hostname`. */
  hostname?: string;
  /** Called once listening. */
  onListen?: (address: { hostname: string; port: number }) => void;
}

/**
 * The port is taken (by another copy of the server, or another program).
 * Its message is one line for the operator: which port, and how to pick
 * another.
 *
 * @example
 * ```ts
 * import { PortInUseError } from "./server.ts";
 * const error = new PortInUseError(5050, "0.0.0.0");
 * if (!error.message.includes("PORT=5051")) throw new Error(error.message);
 * ```
 */
export class PortInUseError extends Error {
  /** The port that was asked for. */
  readonly port: number;

  /** `port` on `hostname` is in use. */
  constructor(port: number, hostname: string) {
    const other = port >= 65535 ? 5050 : port + 1;
    super(
      `Port ${port} on ${hostname} is already in use (is the server already running?). ` +
        `Stop the other program, or pick another port: set PORT=${other} (environment or .env).`,
    );
    this.name = "PortInUseError";
    this.port = port;
  }
}

/**
 * Starts `Deno.serve` with the bridge application.
 *
 * @throws {PortInUseError} when the port is taken.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./server.ts";
 * const server = startServer({ config, port: 0 });
 * console.log(server.localUrl);
 * await server.shutdown();
 * ```
 */
export function startServer(options: StartServerOptions): RunningServer {
  const app = createApp(options);
  const hostname = options.hostname ?? options.config.hostname;
  const port = options.port ?? options.config.port;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      port,
      hostname,
      onListen: (address) => options.onListen?.(address),
    }, app.handler);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw new PortInUseError(port, hostname);
    throw error;
  }
  const addr = server.addr;
  // Every address (IPv4 or IPv6): this process reaches itself over loopback.
  const localHost = hostname === "0.0.0.0" ? "127.0.0.1" : hostname === "::" ? "::1" : hostname;
  return {
    app,
    port: addr.port,
    localUrl: `http://${localHost.includes(":") ? `[${localHost}]` : localHost}:${addr.port}`,
    finished: server.finished,
    async shutdown() {
      // Live-view streams last as long as their call: end them so the server can stop.
      app.liveCalls.closeAll();
      await server.shutdown();
      await Promise.all([...app.calls].map((call) => call.done));
    },
  };
}
