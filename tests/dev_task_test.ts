/**
 * `deno task dev` as an operator runs it: the task's own command (from
 * deno.json, with `--watch`) in a directory with or without a `.env`. It
 * reads `.env` as `deno task start` does (no Deno warning when there is none,
 * printed twice under the watcher before), keeps the file's values over its
 * development defaults, and a SIGTERM ends the whole process, watcher
 * included, after the drain (before, the watcher stayed, waiting for a file
 * change).
 */
import assert from "node:assert/strict";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { ROOT, ServerProcess } from "./support/server_process.ts";

const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

/** The dev task's argv after `deno`, its script made absolute. */
function devTaskArgs(): string[] {
  const words: string[] = denoJson.tasks.dev.command.split(/\s+/);
  assert.equal(words[0], "deno");
  assert.ok(words.includes("--watch"), "the dev task watches files");
  return words.slice(1).map((w) => w.endsWith(".ts") ? `${ROOT}${w}` : w);
}

async function until(what: string, probe: () => boolean, server: ServerProcess): Promise<void> {
  const start = performance.now();
  while (!probe()) {
    if (performance.now() - start > 30_000) {
      throw new Error(`Timed out waiting for ${what}:\n${server.output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runDev(
  dotEnv: string | undefined,
): Promise<{ output: string; status: Deno.CommandStatus }> {
  const cwd = await Deno.makeTempDir();
  if (dotEnv !== undefined) await Deno.writeTextFile(`${cwd}/.env`, dotEnv);
  const server = await ServerProcess.spawn({
    args: devTaskArgs(),
    cwd,
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      PORT: "0",
      HOST: "127.0.0.1",
      CALL_STORE_PATH: "off",
      NO_COLOR: "1",
    },
  });
  try {
    await until("the server", () => server.out.some((l) => l.includes("Listening on")), server);
    server.child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.child.status,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 20_000)),
    ]);
    clearTimeout(timer);
    assert.ok(status !== undefined, `still running 20 s after SIGTERM:\n${server.output}`);
    await server[Symbol.asyncDispose]();
    return { output: server.output, status };
  } finally {
    await server[Symbol.asyncDispose]();
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("deno task dev without .env: no warning about it, and SIGTERM ends the watcher after the drain", async () => {
  const { output, status } = await runDev(undefined);
  assert.doesNotMatch(output, /env-file|environment file/i);
  assert.match(output, /Received SIGTERM; draining/);
  assert.match(output, /Drained; closing the server/);
  assert.doesNotMatch(output, /Restarting on file change/);
  assert.equal(status.success, false, "ended by the signal, as a process given SIGTERM is");
  assert.equal(status.signal, "SIGTERM");
});

Deno.test("deno task dev reads .env into its environment; the file's values win over the dev defaults", async () => {
  const { output, status } = await runDev("LOG_FORMAT=json\nVOICE=marin\n");
  const listening = output.split("\n").find((l) => l.includes("Listening on"))!;
  const line = JSON.parse(listening); // JSON, as .env says, not the dev default (pretty)
  assert.equal(line.voice, "marin");
  assert.equal(line.softphone, true, "the dev default applies where .env is silent");
  assert.equal(status.signal, "SIGTERM");
});
