/**
 * Entry point of `deno task dev`: the normal server with development
 * defaults, each applied only when the variable is not already set (in the
 * environment or in `.env`, which `--env-file` loads first):
 *
 * - `SOFTPHONE=on`: the browser softphone at http://localhost:5050;
 * - `HOST=127.0.0.1`: only this machine reaches it (the softphone starts calls
 *   on your key; set `HOST=0.0.0.0` to open it to the network on purpose);
 * - `LOG_FORMAT=pretty`: readable log lines instead of JSON.
 *
 * @module
 */
import { main } from "../../main.ts";

/** The defaults `deno task dev` applies when a variable is unset. */
export const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  SOFTPHONE: "on",
  HOST: "127.0.0.1",
  LOG_FORMAT: "pretty",
};

if (import.meta.main) {
  for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
    if (Deno.env.get(name) === undefined) Deno.env.set(name, value);
  }
  const code = await main();
  if (code !== 0) Deno.exit(code);
}
