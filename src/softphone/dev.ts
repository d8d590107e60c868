/**
 * Entry point of `deno task dev`: the normal server with the browser
 * softphone turned on unless `SOFTPHONE` is already set (in the environment
 * or in `.env`, which `--env-file` loads first).
 *
 * @module
 */
import { main } from "../../main.ts";

if (import.meta.main) {
  if (Deno.env.get("SOFTPHONE") === undefined) Deno.env.set("SOFTPHONE", "on");
  const code = await main();
  if (code !== 0) Deno.exit(code);
}
