/**
 * Which `Host` the softphone answers: a loopback name (`localhost`,
 * `127.0.0.0/8`, `[::1]`) or the host of `PUBLIC_URL`. A web page that
 * rebinds its own name to 127.0.0.1 (DNS rebinding) still sends its own name
 * as `Host`, so it cannot get a softphone token, start calls on the
 * developer's key or read the live view. (A LAN neighbour can forge `Host`:
 * that is why `deno task dev` listens on 127.0.0.1.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softphoneHostAllowed } from "./softphone_host.ts";
 * const at = (host: string) => new Request("http://x/", { headers: { host } });
 * assert.equal(softphoneHostAllowed(at("localhost:5050"), undefined), true);
 * assert.equal(softphoneHostAllowed(at("attacker.example"), undefined), false);
 * assert.equal(softphoneHostAllowed(at("voice.example.com"), "https://voice.example.com"), true);
 * ```
 *
 * @module
 */
import { isLoopbackHost } from "../config/mod.ts";

/** The hostname of a `Host` value (`[::1]:5050` → `[::1]`), lower case; undefined when malformed. */
function hostname(host: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(host);
  return match?.[1].toLowerCase();
}

/** Whether the softphone serves `request` (its `Host`, else its URL's host). */
export function softphoneHostAllowed(request: Request, publicUrl: string | undefined): boolean {
  const name = hostname(request.headers.get("host") ?? new URL(request.url).host);
  if (name === undefined) return false;
  if (isLoopbackHost(name)) return true;
  return publicUrl !== undefined && new URL(publicUrl).hostname.toLowerCase() === name;
}
