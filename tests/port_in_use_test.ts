import assert from "node:assert/strict";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";

/** Runs `entry` on a port another socket holds; returns its exit code and output. */
async function startOnTakenPort(entry: string): Promise<{ code: number; out: string[] }> {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  await using child = await ServerProcess.spawn({
    args: denoRunArgs(entry, ["net", "env", "read", "write", "sys=hostname"]),
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      PORT: String(port),
      HOST: "127.0.0.1",
      CALL_STORE_PATH: "off",
      TWILIO_SIGNATURE_CHECK: "off",
      NO_COLOR: "1",
    },
  });
  const status = await child.child.status;
  await child[Symbol.asyncDispose]();
  return { code: status.code, out: [...child.out, ...child.err].filter((l) => l.trim() !== "") };
}

for (const entry of ["main.ts", "src/demo/demo.ts", "dev.ts"]) {
  Deno.test(`${entry} on a port in use: one line naming the port and PORT=, exit 1, no stack trace`, async () => {
    const { code, out } = await startOnTakenPort(entry);
    assert.equal(code, 1, out.join("\n"));
    const text = out.join("\n");
    assert.doesNotMatch(text, /AddrInUse|Uncaught|\n\s+at /, "no stack trace");
    const line = out.find((l) => l.includes("already in use"));
    assert.ok(line !== undefined, text);
    assert.match(line, /Port \d+ on 127\.0\.0\.1 is already in use/);
    assert.match(line, /PORT=\d+/);
    assert.equal(text.includes(TEST_API_KEY), false);
  });
}
