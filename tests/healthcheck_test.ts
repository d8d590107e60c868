/**
 * `main.ts --healthcheck` (what the Docker image's HEALTHCHECK runs, as
 * `phone-bridge --healthcheck`): exit 0 while the server answers `/healthz`,
 * 1 with a line naming the URL when nothing answers.
 */
import assert from "node:assert/strict";
import { BridgeHarness } from "./support/bridge_harness.ts";
import { denoRunArgs } from "./support/server_process.ts";

async function probe(port: number): Promise<{ code: number; stderr: string }> {
  const env: Record<string, string> = { PORT: String(port), HOST: "127.0.0.1" };
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const cwd = await Deno.makeTempDir(); // no .env here
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: denoRunArgs("main.ts", ["net", "env", "read"], ["--healthcheck"]),
      cwd,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("main.ts --healthcheck exits 0 while the server is up and 1 once it is gone", async () => {
  let port: number;
  {
    await using h = await BridgeHarness.start();
    port = h.server.port;
    const up = await probe(port);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(h.server.app.calls.size, 0, "the probe opened no call");
  }
  const down = await probe(port);
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`Unhealthy: http://127\\.0\\.0\\.1:${port}/healthz`));
});
