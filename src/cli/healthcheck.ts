/**
 * `phone-bridge --healthcheck` (or `deno run main.ts --healthcheck`): asks the
 * server running in this container or host for `/healthz` and exits 0 when it
 * answers 200, 1 otherwise. For Docker's `HEALTHCHECK` in an image without a
 * shell or curl (distroless): the compiled binary checks itself. It reads
 * only `PORT` and `HOST` (same defaults as the server: 5050, 0.0.0.0, asked
 * on 127.0.0.1), so a configuration problem elsewhere never makes a running
 * server look unhealthy.
 *
 * @example
 * ```ts
 * import { healthcheck, healthzUrl } from "./healthcheck.ts";
 * if (healthzUrl({}) !== "http://127.0.0.1:5050/healthz") throw new Error();
 * if (healthzUrl({ PORT: "8080", HOST: "::" }) !== "http://[::1]:8080/healthz") throw new Error();
 * const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => new Response("ok"));
 * const code = await healthcheck({ PORT: String(server.addr.port), HOST: "127.0.0.1" }, () => {});
 * await server.shutdown();
 * if (code !== 0) throw new Error("healthy server reported unhealthy");
 * ```
 *
 * @module
 */

/** The flag that turns the entry point into a health probe. */
export const HEALTHCHECK_FLAG = "--healthcheck";

/** The `/healthz` URL of the local server configured by `env` (`PORT`, `HOST`). */
export function healthzUrl(env: Record<string, string | undefined>): string {
  const port = env.PORT?.trim() || "5050";
  const host = env.HOST?.trim() || "0.0.0.0";
  const local = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${local.includes(":") ? `[${local}]` : local}:${port}/healthz`;
}

/**
 * Fetches `/healthz` of the local server; returns the exit code (0 healthy,
 * 1 not) and reports a failure through `report`.
 */
export async function healthcheck(
  env: Record<string, string | undefined>,
  report: (line: string) => void = console.error,
  timeoutMs = 3000,
): Promise<number> {
  const url = healthzUrl(env);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    if (response.status === 200) return 0;
    report(`Unhealthy: ${url} answered ${response.status}.`);
    return 1;
  } catch (error) {
    report(
      `Unhealthy: ${url} did not answer (${error instanceof Error ? error.message : error}).`,
    );
    return 1;
  }
}
