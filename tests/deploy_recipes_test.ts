/**
 * The deploy recipes agree with the code: the Dockerfile compiles with the
 * permissions of `deno task compile`, runs the binary as PID 1 (exec form) as
 * a non-root user, stops it with SIGTERM, health-checks it with the binary's
 * own `--healthcheck` and keeps call records on its volume; the systemd unit
 * keeps its records in its state directory and gives the drain its time.
 * Both carry the agents file: the image builds in the context's `agents.yaml`
 * where the default `AGENTS_FILE` resolves; the unit names its file and
 * reloads it with `ExecReload` (run here against a real server).
 * (`docker build` and `systemctl` cannot run here; `.ci/run` lints both files
 * where the tools exist.)
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { HEALTHCHECK_FLAG } from "../src/cli/healthcheck.ts";
import { parseConfig } from "../src/config/mod.ts";
import { DEFAULT_AGENTS_FILE } from "../src/config/server_kinds.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const dockerfile = await Deno.readTextFile(`${ROOT}Dockerfile`);
const unit = await Deno.readTextFile(`${ROOT}deploy/phone-bridge.service`);
const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const dockerignore = await Deno.readTextFile(`${ROOT}.dockerignore`);

/** Dockerfile instructions, continuation lines joined, with the stage each belongs to. */
function instructions(text: string): { stage: number; instruction: string; args: string }[] {
  let stage = -1;
  return text.replace(/\\\n\s*/g, " ").split("\n")
    .filter((l) => l.trim() !== "" && !l.trim().startsWith("#"))
    .map((l) => {
      const m = /^\s*(\w+)\s+(.*)$/.exec(l)!;
      const instruction = m[1].toUpperCase();
      if (instruction === "FROM") stage++;
      return { stage, instruction, args: m[2].trim() };
    });
}

/** A Docker glob (`*`, `?`, `[…]`) as a regular expression over a whole path. */
function globRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(
    /\?/g,
    "[^/]",
  );
  return new RegExp(`^${body}(/.*)?$`);
}

/** Whether `.dockerignore` sends `path` to the build (the last matching line wins). */
function sentToBuild(path: string): boolean {
  let sent = true;
  for (const raw of dockerignore.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, "");
    if (globRegExp(pattern).test(path)) sent = negated;
  }
  return sent;
}

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

Deno.test("Dockerfile: the context's agents.yaml is built in where the default AGENTS_FILE resolves", () => {
  assert.ok(sentToBuild(DEFAULT_AGENTS_FILE), ".dockerignore lets agents.yaml into the build");
  for (const path of [".env", "calls.kv", "tests/x_test.ts", "dist/phone-bridge", "src/x.ts"]) {
    assert.equal(sentToBuild(path), path.startsWith("src/"), `${path} sent to the build`);
  }
  const all = instructions(dockerfile);
  const last = Math.max(...all.map((i) => i.stage));
  // The build stage copies it, optionally (a glob that may match nothing, next to a file that exists)…
  const copy = all.find((i) =>
    i.stage < last && i.instruction === "COPY" &&
    i.args.split(/\s+/).slice(0, -1).some((source) => globRegExp(source).test(DEFAULT_AGENTS_FILE))
  );
  assert.ok(copy, "a COPY of agents.yaml in the build stage");
  const sources = copy.args.split(/\s+/).slice(0, -1);
  assert.ok(
    sources.some((source) => !/[*?[]/.test(source) && sentToBuild(source)),
    "next to a file that is always there, so the COPY is valid without agents.yaml",
  );
  // …into the directory the final stage takes as its working directory, where the relative
  // default AGENTS_FILE (agents.yaml) is looked up; AGENTS_FILE is not set, so it stays optional.
  const stage = all.filter((i) => i.stage === last);
  const workdir = stage.filter((i) => i.instruction === "WORKDIR").at(-1)?.args;
  const fromBuild = stage.find((i) =>
    i.instruction === "COPY" && i.args.startsWith("--from=build ") &&
    i.args.split(/\s+/).at(-1)?.replace(/\/$/, "") === workdir
  );
  assert.ok(fromBuild, `the final stage copies a build directory to its WORKDIR ${workdir}`);
  const builtDir = fromBuild.args.split(/\s+/)[1].replace(/\/$/, "");
  assert.ok(
    all.some((i) =>
      i.stage < last && i.instruction === "RUN" &&
      new RegExp(`cp \\S*${DEFAULT_AGENTS_FILE.replace(".", "\\.")} ${builtDir}/`).test(i.args)
    ),
    `the build puts agents.yaml into ${builtDir}`,
  );
  const [entry] = JSON.parse(stage.find((i) => i.instruction === "ENTRYPOINT")!.args);
  assert.equal(entry, `${workdir}/phone-bridge`, "the binary comes with it");
  assert.ok(!stage.some((i) => i.instruction === "ENV" && /AGENTS_FILE=/.test(i.args)));
  assert.deepEqual(
    parseConfig({ OPENAI_API_KEY: TEST_API_KEY }).agentsFile,
    { path: DEFAULT_AGENTS_FILE, required: false },
  );
});

/** The unit's `Key=value` lines, every value of a key kept. */
function unitSettings(): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1], [...(settings.get(m[1]) ?? []), m[2]]);
  }
  return settings;
}

Deno.test("systemd unit: its agents file sits with its environment file and ExecReload reloads it", async () => {
  const settings = unitSettings();
  const environment = new Map(
    (settings.get("Environment") ?? []).map((
      e,
    ) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
  const agentsPath = environment.get("AGENTS_FILE");
  const envFile = settings.get("EnvironmentFile")?.at(-1);
  assert.ok(agentsPath && envFile, "AGENTS_FILE and EnvironmentFile are set");
  const dir = (path: string) => path.slice(0, path.lastIndexOf("/"));
  assert.equal(dir(agentsPath), dir(envFile), "the agents file next to the environment file");
  const reload = settings.get("ExecReload")?.at(-1);
  assert.equal(reload, "/bin/kill -HUP $MAINPID");

  // The unit's environment and reload command against a real server, /etc/phone-bridge mapped
  // to a temporary directory.
  const etc = await Deno.makeTempDir();
  const file = `${etc}/${agentsPath.slice(dir(agentsPath).length + 1)}`;
  const agents = (name: string) =>
    `agents:\n  - name: front-desk\n  - name: ${name}\n    numbers: ['+15005550001']\n`;
  await Deno.writeTextFile(file, agents("listings"));
  const server = await ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "sys=hostname"]),
    env: {
      ...Object.fromEntries(environment),
      AGENTS_FILE: file,
      CALL_STORE_PATH: "off",
      OPENAI_API_KEY: TEST_API_KEY,
      PORT: "0",
      HOST: "127.0.0.1",
      TWILIO_SIGNATURE_CHECK: "off",
    },
  });
  try {
    const base = `http://127.0.0.1:${await server.port()}`;
    const streamUrl = async () => {
      const res = await fetch(`${base}/incoming-call`, {
        method: "POST",
        body: new URLSearchParams({ CallSid: "CA1", From: "+14155550100", To: "+15005550001" }),
      });
      return /<Stream url="([^"]*)"/.exec(await res.text())?.[1];
    };
    assert.match(await streamUrl() ?? "", /\/media-stream\/agent\/listings$/);
    await Deno.writeTextFile(file, agents("sales"));
    const command = reload.replace("$MAINPID", String(server.child.pid)).split(" ");
    const ran = await new Deno.Command(command[0], { args: command.slice(1) }).output();
    assert.ok(ran.success, new TextDecoder().decode(ran.stderr));
    const start = performance.now();
    while (!server.out.some((l) => l.includes("Agents file reloaded"))) {
      assert.ok(performance.now() - start < 30_000, `no reload:\n${server.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(await streamUrl() ?? "", /\/media-stream\/agent\/sales$/);
  } finally {
    await server[Symbol.asyncDispose]();
    await Deno.remove(etc, { recursive: true });
  }
});

Deno.test("docs/deployment.md: each recipe says where the agents file goes; no claim that instances share nothing", async () => {
  const doc = await Deno.readTextFile(`${ROOT}docs/deployment.md`);
  const section = (title: string) => {
    const start = doc.indexOf(`\n## ${title}\n`);
    assert.ok(start >= 0, `a section ${title}`);
    const end = doc.indexOf("\n## ", start + 1);
    return doc.slice(start, end < 0 ? undefined : end);
  };
  assert.match(section("Docker"), /agents\.yaml/);
  assert.match(section("Docker"), /docker kill --signal=HUP/);
  assert.match(section("systemd"), /systemctl reload phone-bridge/);
  assert.match(section("Deno Deploy"), /agents\.yaml/);
  const several = section("Several instances behind a load balancer");
  assert.doesNotMatch(several, /no sticky sessions or shared store/);
  assert.match(several, /one Deno KV/);
  assert.match(several, /sticky/);
});
