/**
 * The peer for `deno task bench --peer`: Twilio's Node sample
 * (`../shared/peers/twilio-node-sample`, Fastify + `ws`), prepared and
 * started so that it relays the same load to the same echo Realtime server
 * as the bridge. The shared copy is read-only, so when it has no
 * `node_modules` it is copied to `bench_results/peer/` and installed there
 * with `npm ci` (again only when its `package-lock.json` changed). When Node,
 * npm or the sample is missing, {@link preparePeer} says why instead of
 * failing the benchmark.
 *
 * @example
 * ```ts
 * import { peerCommand } from "./peer_sample.ts";
 * const cmd = peerCommand("/tmp/peer", 5051, "ws://127.0.0.1:9/v1/realtime");
 * if (cmd.env.OPENAI_WS_URL !== "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime") {
 *   throw new Error(cmd.env.OPENAI_WS_URL);
 * }
 * ```
 *
 * @module
 */

/** Where the peer sample lives by default, relative to the project root. */
export const DEFAULT_PEER_DIR = "../shared/peers/twilio-node-sample";

/** A peer ready to run, or why it cannot run. */
export type PeerSetup =
  | { ok: true; dir: string; node: string; installed: "present" | "npm ci" }
  | { ok: false; reason: string };

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  try {
    const result = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
      .outputSync();
    const decoder = new TextDecoder();
    return {
      ok: result.success,
      out: (decoder.decode(result.stdout) + decoder.decode(result.stderr)).trim(),
    };
  } catch (error) {
    return { ok: false, out: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Finds Node and the sample in `sourceDir`; installs its dependencies (into
 * `workDir`, a writable copy, when `sourceDir` has none).
 */
export function preparePeer(sourceDir: string, workDir: string): PeerSetup {
  const node = run("node", ["--version"]);
  if (!node.ok) return { ok: false, reason: "Node.js is not installed (node --version failed)" };
  if (!exists(`${sourceDir}/index.js`) || !exists(`${sourceDir}/package-lock.json`)) {
    return { ok: false, reason: `the Twilio Node sample is not at ${sourceDir}` };
  }
  if (exists(`${sourceDir}/node_modules`)) {
    return { ok: true, dir: sourceDir, node: node.out, installed: "present" };
  }
  const lock = Deno.readTextFileSync(`${sourceDir}/package-lock.json`);
  const upToDate = exists(`${workDir}/node_modules`) &&
    exists(`${workDir}/package-lock.json`) &&
    Deno.readTextFileSync(`${workDir}/package-lock.json`) === lock &&
    exists(`${workDir}/index.js`) &&
    Deno.readTextFileSync(`${workDir}/index.js`) ===
      Deno.readTextFileSync(`${sourceDir}/index.js`);
  if (upToDate) return { ok: true, dir: workDir, node: node.out, installed: "present" };
  Deno.mkdirSync(workDir, { recursive: true });
  for (const file of ["index.js", "package.json", "package-lock.json"]) {
    const target = `${workDir}/${file}`;
    try {
      Deno.chmodSync(target, 0o644);
    } catch { /* not there yet */ }
    Deno.writeTextFileSync(target, Deno.readTextFileSync(`${sourceDir}/${file}`));
  }
  const install = run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], workDir);
  if (!install.ok) {
    return { ok: false, reason: `npm ci failed in ${workDir}: ${install.out.slice(-500)}` };
  }
  return { ok: true, dir: workDir, node: node.out, installed: "npm ci" };
}

/** The command and environment that start the peer on `port`, relaying to `echoUrl`. */
export function peerCommand(
  dir: string,
  port: number,
  echoUrl: string,
): { cmd: string[]; env: Record<string, string>; cwd: string } {
  return {
    cmd: ["node", "index.js"],
    cwd: dir,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      PORT: String(port),
      OPENAI_API_KEY: "sk-bench-not-a-key",
      OPENAI_WS_URL: `${echoUrl}?model=gpt-realtime`,
      NODE_ENV: "production",
    },
  };
}
