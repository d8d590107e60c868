/**
 * Entry point of `deno task dev`: the normal server with development
 * defaults, each applied only when the variable is not already set (in the
 * environment or in `.env`, which is loaded into the environment here):
 *
 * - `SOFTPHONE=on`: the browser softphone at http://localhost:5050;
 * - `HOST=127.0.0.1`: only this machine reaches it (the softphone starts calls
 *   on your key; set `HOST=0.0.0.0` to open it to the network on purpose);
 * - `LOG_FORMAT=pretty`: readable log lines instead of JSON.
 *
 * SIGTERM or SIGINT drains as in `deno task start`, then raises the signal
 * again with no listener left, so `deno run --watch` (whose watcher would
 * otherwise wait for a file change) ends too.
 *
 * @module
 */
import { main } from "./main.ts";
import { loadEnvFile, setUnsetVariables } from "./src/config/mod.ts";

/** The defaults `deno task dev` applies when a variable is unset. */
const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  SOFTPHONE: "on",
  HOST: "127.0.0.1",
  LOG_FORMAT: "pretty",
};

if (import.meta.main) {
  // `.env` under the real environment, as `--env-file` would (without Deno's warning, printed
  // twice under --watch, when there is no file).
  setUnsetVariables({ ...DEV_DEFAULTS, ...loadEnvFile() });
  const code = await main({
    exit: (signal) => {
      try {
        Deno.kill(Deno.pid, signal);
      } catch {
        Deno.exit(0); // No signals to raise on this platform.
      }
    },
  });
  if (code !== 0) Deno.exit(code);
}
