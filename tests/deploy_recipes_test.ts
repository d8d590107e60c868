/**
 * The deploy recipes agree with the code: the Dockerfile compiles with the
 * permissions of `deno task compile`, runs the binary as PID 1 (exec form) as
 * a non-root user, stops it with SIGTERM, health-checks it with the binary's
 * own `--healthcheck` and keeps call records on its volume; the systemd unit
 * keeps its records in its state directory and gives the drain its time.
 * (`docker build` and `systemctl` cannot run here; `.ci/run` lints both files
 * where the tools exist.)
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { HEALTHCHECK_FLAG } from "../src/cli/healthcheck.ts";
import { parseConfig } from "../src/config.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const dockerfile = await Deno.readTextFile(`${ROOT}Dockerfile`);
const unit = await Deno.readTextFile(`${ROOT}deploy/phone-bridge.service`);
const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

/** Dockerfile instructions of the last stage, continuation lines joined. */
function finalStage(text: string): { instruction: string; args: string }[] {
  const joined = text.replace(/\\\n\s*/g, " ").split("\n").filter((l) =>
    l.trim() !== "" && !l.trim().startsWith("#")
  );
  const all = joined.map((l) => {
    const m = /^\s*(\w+)\s+(.*)$/.exec(l)!;
    return { instruction: m[1].toUpperCase(), args: m[2].trim() };
  });
  const lastFrom = all.map((i) => i.instruction).lastIndexOf("FROM");
  return all.slice(lastFrom);
}

function flags(command: string): string[] {
  return command.split(/\s+/).filter((w) =>
    w.startsWith("--allow-") || w.startsWith("--v8-flags") || w === "--unstable-kv"
  ).sort();
}

Deno.test("Dockerfile: compiled with the permissions and V8 flags of deno task compile", () => {
  const compile = /RUN deno compile [^\n]*/.exec(dockerfile.replace(/\\\n\s*/g, " "))?.[0];
  assert.ok(compile, "a deno compile step");
  assert.deepEqual(flags(compile), flags(denoJson.tasks.compile.command));
});

Deno.test("Dockerfile: non-root, exec-form entry, SIGTERM, self health check, records on the volume", () => {
  const stage = finalStage(dockerfile);
  const get = (name: string) => stage.filter((i) => i.instruction === name).map((i) => i.args);
  const [user] = get("USER");
  assert.ok(user !== undefined && !/^(0|root)(:|$)/.test(user), `non-root USER (${user})`);
  const [entry] = get("ENTRYPOINT");
  const argv = JSON.parse(entry);
  assert.ok(Array.isArray(argv), "exec form, so SIGTERM reaches the binary as PID 1");
  assert.deepEqual(get("STOPSIGNAL"), ["SIGTERM"]);
  const [health] = get("HEALTHCHECK");
  const cmd = JSON.parse(health.slice(health.indexOf("CMD") + 3).trim());
  assert.deepEqual(cmd, [argv[0], HEALTHCHECK_FLAG]);
  const env = get("ENV").join(" ");
  const store = /CALL_STORE_PATH=(\S+)/.exec(env)?.[1];
  const [volume] = get("VOLUME").map((v) => JSON.parse(v)[0]);
  assert.ok(store?.startsWith(`${volume}/`), `CALL_STORE_PATH ${store} is on the volume ${volume}`);
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, HOST: "0.0.0.0", PORT: "5050" });
  assert.ok(get("EXPOSE").includes(String(config.port)));
});

Deno.test("systemd unit: records in the state directory, drain time, restart and hardening", () => {
  const settings = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1], [...(settings.get(m[1]) ?? []), m[2]]);
  }
  const one = (key: string) => settings.get(key)?.at(-1);
  const store = settings.get("Environment")?.find((e) => e.startsWith("CALL_STORE_PATH="))
    ?.slice("CALL_STORE_PATH=".length);
  assert.equal(store, `/var/lib/${one("StateDirectory")}/calls.kv`);
  assert.ok(one("EnvironmentFile"), "secrets come from an EnvironmentFile");
  const defaultDrain = parseConfig({ OPENAI_API_KEY: TEST_API_KEY }).drainSeconds;
  // The drain (DRAIN_SECONDS), the goodbyes (8 s), the hang-ups (2 s) and closing the server (3 s).
  assert.ok(
    Number(one("TimeoutStopSec")) > defaultDrain + 8 + 2 + 3,
    `TimeoutStopSec=${one("TimeoutStopSec")} is above DRAIN_SECONDS (${defaultDrain}) + 13 s`,
  );
  assert.equal(one("KillSignal"), "SIGTERM");
  assert.equal(one("Restart"), "on-failure");
  assert.equal(one("NoNewPrivileges"), "yes");
  assert.equal(one("ProtectSystem"), "strict");
  assert.equal(one("MemoryDenyWriteExecute"), undefined, "V8's JIT needs writable code pages");
});
