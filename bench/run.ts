/**
 * The relay benchmark (`deno task bench`): starts the echo Realtime server and
 * the bridge (`main.ts`) as separate processes, plays N concurrent callers
 * against the bridge and the same N straight against the echo server (the
 * floor), and reports per N the relay round trip, the latency the bridge
 * adds, frame loss, the bridge's CPU and memory, and start-up time.
 *
 * Options (all optional): `--calls=1,50,200,500` `--seconds=4` `--warmup=1`
 * `--out=bench_results/latest.json` `--smoke` (N=5 for 2 s; exits non-zero
 * when frames are lost or no echo came back) `--no-pin`
 * `--server-flags="--v8-flags=--perf-basic-prof"` (extra `deno run` flags for
 * the bridge, replacing the `--v8-flags` of `deno task start` that the bridge
 * otherwise runs with; its `--v8-flags` go to the floor too) `--server-env=MALLOC_ARENA_MAX=2` (extra environment of the
 * bridge, comma-separated) `--server-output=bench_results/out` (keep the
 * servers' stdout and stderr in `<prefix>-bridge-<N>.log`, `<prefix>-peer-<N>.log`,
 * e.g. with `--server-flags=--v8-flags=--trace-gc`) `--server-root=/path/to/other/checkout` (bench another version of
 * the bridge, e.g. `git archive <commit> | tar -x -C /tmp/before`, under the
 * same conditions).
 * `--peer[=dir]` also runs Twilio's Node sample (default
 * `../shared/peers/twilio-node-sample`, installed with `npm ci` into
 * `bench_results/peer/` when it has no `node_modules`; skipped with a note when
 * Node or the sample is absent) under the same load in the same row and prints
 * the ratios. `--engine=live` runs the bridge's agent on GPT-Live (`ENGINE=live`) against
 * the echo's GPT-Live sessions path, so its adapter is on the measured path. `--floor` also runs `bench/floor_relay.ts` in each row: a relay on
 * the same two WebSocket stacks that does nothing else, the CPU no bridge of
 * this design can go below. `--together` runs the bridge, the peer and the floor of a row at
 * the same time, each with N calls on the same CPU, instead of one after another: each meets
 * the machine in the same state, so the machine's drift between runs (single runs of the floor
 * ranged from 29 to 48 µs a frame on one morning) cancels out of their ratios; keep N × servers
 * within the CPU (e.g. `--calls=60`). `--soak=600 --calls=100` runs one long window at one N instead of
 * the rows and reports RSS over time and its growth after the warm-up
 * (`--warmup`, default 60 s in a soak).
 *
 * The bridge runs under `bench/memory_probe.ts`, which samples
 * `Deno.memoryUsage()` and V8's heap statistics, so a row also says where the
 * memory per call goes (V8 heap by space, external, outside V8).
 * `--heap-snapshots` also writes V8 heap snapshots of the bridge when idle and
 * at the end of each window into `bench_results/heap-<N>/` and prints the
 * objects per call by constructor (`bench/heap_summary.ts`); the snapshot
 * pauses the bridge, so that row's latency and loss do not count.
 *
 * The server process (bridge or peer) is pinned to CPU 0 and this generator plus the echo
 * server to CPU 1 when `taskset` exists and the machine has two CPUs or more.
 *
 * @module
 */
import { type LoadResult, runLoad } from "./load_generator.ts";
import type { MemorySample } from "./memory_probe.ts";
import {
  f,
  floorTable,
  lossPct,
  markdown,
  memoryPerCall,
  memoryTable,
  type PeerRow,
  peerTable,
  type Row,
  type SoakResult,
  summarize,
  table,
} from "./bench_report.ts";
import { diffSummaries, summarizeSnapshot } from "./heap_summary.ts";
import { DEFAULT_PEER_DIR, peerCommand, type PeerSetup, preparePeer } from "./peer_sample.ts";
import { cpuSeconds, loadAverage, machineDescription, rssKb, slope } from "./proc_stats.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Ms between two memory samples of the bridge (also how its event-loop lag is seen). */
const PROBE_INTERVAL_MS = 250;

interface Args {
  calls: number[];
  seconds: number;
  warmup: number;
  out: string;
  smoke: boolean;
  pin: boolean;
  /** Extra `deno run` flags for the bridge process (e.g. V8 flags). */
  serverFlags: string[];
  /** Extra environment variables of the bridge process (e.g. MALLOC_ARENA_MAX). */
  serverEnv: Record<string, string>;
  /** Path prefix of files that keep the servers' output (`<prefix>-bridge-<N>.log`). */
  serverOutput: string | undefined;
  /** Directory whose `main.ts` is the bridge (default: this checkout). */
  serverRoot: string;
  /** Directory of Twilio's Node sample to run side by side (undefined: no peer). */
  peer: string | undefined;
  /** Also run the floor relay (`bench/floor_relay.ts`) in each row. */
  floor: boolean;
  /** Run the bridge, the peer and the floor at the same time in each row (`--together`). */
  together: boolean;
  /** Seconds of a soak run (0: no soak). */
  soak: number;
  /** Write V8 heap snapshots of the bridge when idle and at the end of each window. */
  heapSnapshots: boolean;
  /** The bridge's engine: `realtime`, or `live` (GPT-Live through its adapter, `--engine=live`). */
  engine: "realtime" | "live";
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    calls: [1, 50, 200, 500],
    seconds: 4,
    warmup: 1,
    out: "bench_results/latest.json",
    smoke: false,
    pin: true,
    serverFlags: [],
    serverEnv: {},
    serverOutput: undefined,
    serverRoot: ROOT,
    peer: undefined,
    floor: false,
    together: false,
    soak: 0,
    heapSnapshots: false,
    engine: "realtime",
  };
  let warmupSet = false;
  for (const arg of argv) {
    // Split at the first "=" only: values such as --server-flags=--v8-flags=… contain more.
    const text = arg.replace(/^--/, "");
    const eq = text.indexOf("=");
    const key = eq < 0 ? text : text.slice(0, eq);
    const value = eq < 0 ? "" : text.slice(eq + 1);
    switch (key) {
      case "calls":
        args.calls = value.split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0);
        break;
      case "seconds":
        args.seconds = Number(value);
        break;
      case "warmup":
        args.warmup = Number(value);
        warmupSet = true;
        break;
      case "peer":
        args.peer = value !== "" ? value.replace(/\/$/, "") : `${ROOT}${DEFAULT_PEER_DIR}`;
        break;
      case "floor":
        args.floor = true;
        break;
      case "together":
        args.together = true;
        break;
      case "engine":
        if (value !== "realtime" && value !== "live") {
          throw new Error(`--engine is realtime or live, got "${value}".`);
        }
        args.engine = value;
        break;
      case "heap-snapshots":
        args.heapSnapshots = true;
        break;
      case "soak":
        args.soak = Number(value);
        if (!(args.soak > 0)) throw new Error("--soak needs a number of seconds, e.g. --soak=600.");
        break;
      case "out":
        args.out = value;
        break;
      case "smoke":
        args.smoke = true;
        break;
      case "no-pin":
        args.pin = false;
        break;
      case "server-root":
        args.serverRoot = value.endsWith("/") ? value : `${value}/`;
        break;
      case "server-env":
        for (const pair of value.split(",").filter((x) => x !== "")) {
          const at = pair.indexOf("=");
          if (at <= 0) throw new Error(`--server-env needs NAME=value pairs, got "${pair}".`);
          args.serverEnv[pair.slice(0, at)] = pair.slice(at + 1);
        }
        break;
      case "server-output":
        args.serverOutput = value;
        break;
      case "server-flags":
        args.serverFlags = value.split(" ").filter((x) => x !== "");
        break;
      default:
        throw new Error(`Unknown option ${arg}; see the header of bench/run.ts.`);
    }
  }
  if (args.smoke) {
    args.calls = [5];
    args.seconds = 2;
    args.warmup = 0.5;
  }
  if (args.soak > 0) {
    if (!warmupSet) args.warmup = 60;
    args.calls = args.calls.slice(0, 1);
    if (argv.every((a) => !a.startsWith("--calls"))) args.calls = [100];
  }
  if (args.calls.length === 0 || !(args.seconds > 0) || !(args.seconds <= 60)) {
    throw new Error("--calls needs positive integers and --seconds a number from 0 to 60.");
  }
  if (args.together && (args.heapSnapshots || args.soak > 0)) {
    throw new Error(
      "--together runs the servers side by side for their CPU; heap snapshots and soaks run one server: leave --together out.",
    );
  }
  return args;
}

// ---- processes --------------------------------------------------------------

function hasTaskset(): boolean {
  try {
    return new Deno.Command("taskset", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Child processes still running, killed when the bench is interrupted. */
const children = new Set<Deno.ChildProcess>();

function killChildrenOn(signal: "SIGINT" | "SIGTERM"): void {
  Deno.addSignalListener(signal, () => {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    Deno.exit(130);
  });
}

function spawn(
  cmd: string[],
  env: Record<string, string>,
  cpu: number | undefined,
  cwd = ROOT,
) {
  const argv = cpu === undefined ? cmd : ["taskset", "-c", String(cpu), ...cmd];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

async function firstLine(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!text.includes("\n") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  // Keep draining so the child never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();
  return text.split("\n")[0];
}

function drain(stream: ReadableStream<Uint8Array>, keep: string[], copyTo?: string): void {
  (async () => {
    const file = copyTo === undefined
      ? undefined
      : await Deno.open(copyTo, { create: true, append: true });
    const encoder = new TextEncoder();
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (keep.length < 50) keep.push(value);
        await file?.write(encoder.encode(value));
      }
    } catch {
      /* closed */
    } finally {
      file?.close();
    }
  })();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `path` exists and its size stopped changing (a heap snapshot being written). */
async function waitForFile(path: string, timeoutMs = 60_000): Promise<void> {
  let last = -1;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    let size = -1;
    try {
      size = Deno.statSync(path).size;
    } catch { /* not yet */ }
    if (size > 0 && size === last) return;
    last = size;
    await sleep(250);
  }
  throw new Error(`${path} was not written within ${timeoutMs / 1000} s.`);
}

/** Polls until the bridge accepts a media-stream WebSocket; returns the ms since `since`. */
async function waitForFirstCall(port: number, since: number, timeoutMs = 20_000): Promise<number> {
  while (performance.now() - since < timeoutMs) {
    const accepted = await new Promise<boolean>((resolve) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(`ws://127.0.0.1:${port}/media-stream`);
      } catch {
        return resolve(false);
      }
      ws.onopen = () => {
        resolve(true);
        ws.close(1000, "probe");
      };
      ws.onerror = () => resolve(false);
    });
    if (accepted) return performance.now() - since;
    await sleep(2);
  }
  throw new Error("The bridge did not accept a media-stream connection within 20 s.");
}

// ---- one server under load ---------------------------------------------------

/** A server process to measure: the bridge or the peer. */
interface Target {
  name: "bridge" | "peer" | "floor";
  cmd: string[];
  env: Record<string, string>;
  cwd: string;
  port: number;
  /** JSON lines of {@link MemorySample} written by bench/memory_probe.ts (bridge only). */
  memoryFile?: string;
  /** Where the probe writes heap snapshots on SIGUSR2 (bridge only, `--heap-snapshots`). */
  snapshotDir?: string;
  /** Append the server's stdout and stderr to this file (`--server-output`). */
  outputFile?: string;
}

/** What one server measured under one load. */
interface ServerRun {
  load: LoadResult;
  cpuPct: number;
  /**
   * Server CPU µs per caller frame sent in the window (each frame is relayed both ways: four
   * WebSocket messages). Less sensitive to a busy machine than % of a core, as long as the
   * server kept up (small event-loop lag).
   */
  cpuUsPerFrame: number;
  echoCpuPct: number;
  generatorCpuPct: number;
  rssIdleKb: number;
  rssKb: number;
  rssPerCallKb: number;
  rssGrowthKbPerCallPerMin: number;
  /** RSS in KB over the measured window: [seconds since the window started, KB]. */
  rssSeries: [number, number][];
  startupMs: number;
  /**
   * How late the probe's 250 ms timer fired in the window (ms, max): the
   * bridge's event loop was busy or descheduled that long (bridge only).
   */
  loopLagMaxMs?: number;
  /** The probe's samples when idle and at the end of the window (bridge only). */
  memoryIdle?: MemorySample;
  memoryEnd?: MemorySample;
}

function bridgeTarget(args: Args, echoUrl: string, workDir: string, n: number): Target {
  const port = freePort();
  const memoryFile = `${workDir}/memory.jsonl`;
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    OPENAI_API_KEY: "sk-bench-not-a-key",
    OPENAI_REALTIME_URL: echoUrl,
    // GPT-Live: the same echo answers at its sessions path (bench/echo_realtime.ts).
    ...(args.engine === "live"
      ? { ENGINE: "live", OPENAI_LIVE_URL: echoUrl.replace(/\/realtime$/, "/live/sessions") }
      : {}),
    PORT: String(port),
    HOST: "127.0.0.1",
    GREETING: "off",
    LOG_LEVEL: "warning",
    TWILIO_SIGNATURE_CHECK: "off",
    // The relay alone: no call records, no per-server call cap, no wrap-up timers.
    CALL_STORE_PATH: "off",
    MAX_CONCURRENT_CALLS: "100000",
    MAX_CALL_SECONDS: "0",
    CALLER_IDLE_SECONDS: "0",
    NO_COLOR: "1",
    BENCH_MAIN: `file://${args.serverRoot}main.ts`,
    BENCH_MEMORY_FILE: memoryFile,
    BENCH_MEMORY_INTERVAL_MS: String(PROBE_INTERVAL_MS),
    ...args.serverEnv,
  };
  const snapshotDir = args.heapSnapshots ? `${ROOT}bench_results/heap-${n}` : undefined;
  if (snapshotDir !== undefined) {
    Deno.mkdirSync(snapshotDir, { recursive: true });
    for (const old of Deno.readDirSync(snapshotDir)) Deno.removeSync(`${snapshotDir}/${old.name}`);
    env.BENCH_HEAP_SNAPSHOT_DIR = snapshotDir;
  }
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir !== undefined && denoDir !== "") env.DENO_DIR = denoDir;
  return {
    name: "bridge",
    cmd: [
      "deno",
      "run",
      ...serverV8Flags(args),
      ...args.serverFlags.filter((f) => !isV8Flags(f)),
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${memoryFile}${snapshotDir !== undefined ? `,${snapshotDir}` : ""}`,
      "--allow-sys=hostname",
      `--config=${args.serverRoot}deno.json`,
      `${ROOT}bench/memory_probe.ts`,
    ],
    env,
    // An empty working directory: a developer's .env must not configure the benched bridge.
    cwd: workDir,
    port,
    memoryFile,
    ...(snapshotDir !== undefined ? { snapshotDir } : {}),
    ...(args.serverOutput !== undefined
      ? { outputFile: `${args.serverOutput}-bridge-${n}.log` }
      : {}),
  };
}

function isV8Flags(flag: string): boolean {
  return flag.startsWith("--v8-flags");
}

/**
 * The V8 flags the bridge and the floor run with: those of `--server-flags`,
 * else what `deno task start` of the bridge's checkout runs with.
 */
function serverV8Flags(args: Args): string[] {
  const given = args.serverFlags.filter(isV8Flags);
  return given.length > 0 ? given : startTaskV8Flags(args.serverRoot);
}

/** The `--v8-flags=…` of the `start` task in `<root>deno.json` (none when it has none). */
export function startTaskV8Flags(root: string): string[] {
  try {
    const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
    const start = config.tasks?.start;
    const command: string = typeof start === "string" ? start : start?.command ?? "";
    return command.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
  } catch {
    return [];
  }
}

function readMemory(file: string | undefined): MemorySample[] {
  if (file === undefined) return [];
  try {
    return Deno.readTextFileSync(file).split("\n").filter((l) => l !== "").map((l) =>
      JSON.parse(l) as MemorySample
    );
  } catch {
    return [];
  }
}

/** The last sample taken at or before `at` (wall clock ms). */
function sampleAt(samples: MemorySample[], at: number): MemorySample | undefined {
  let found: MemorySample | undefined;
  for (const s of samples) if (s.at <= at) found = s;
  return found;
}

async function measureServer(
  target: Target,
  n: number,
  echoPid: number,
  pin: boolean,
  window: { warmupMs: number; measureMs: number; sampleMs: number },
  onSample?: (seconds: number, kb: number) => void,
): Promise<ServerRun> {
  const spawnedAt = performance.now();
  const server = spawn(target.cmd, target.env, pin ? 0 : undefined, target.cwd);
  const serverOut: string[] = [];
  drain(server.stdout, serverOut, target.outputFile);
  drain(server.stderr, serverOut, target.outputFile);
  try {
    const startupMs = await waitForFirstCall(target.port, spawnedAt).catch((error) => {
      throw new Error(
        `${error.message} (${target.name})\nOutput:\n${serverOut.join("").slice(-2000)}`,
      );
    });
    await sleep(300);
    const pid = server.pid;
    if (target.snapshotDir !== undefined) {
      server.kill("SIGUSR2");
      await waitForFile(`${target.snapshotDir}/1.heapsnapshot`);
    }
    const rssIdleKb = rssKb(pid);
    const idleWall = Date.now();
    let endWall = 0;
    let startWall = 0;
    const rssPoints: [number, number][] = [];
    let cpu0 = 0, cpu1 = 0, echo0 = 0, echo1 = 0, gen0 = 0, gen1 = 0, t0 = 0, t1 = 0;
    let sampler: ReturnType<typeof setInterval> | undefined;
    const load = await runLoad({
      mode: "bridge",
      url: `ws://127.0.0.1:${target.port}/media-stream`,
      calls: n,
      warmupMs: window.warmupMs,
      measureMs: window.measureMs,
      onWindow: (edge) => {
        const now = performance.now();
        if (edge === "start") {
          t0 = now;
          startWall = Date.now();
          cpu0 = cpuSeconds(pid);
          echo0 = cpuSeconds(echoPid);
          gen0 = cpuSeconds(Deno.pid);
          rssPoints.push([0, rssKb(pid)]);
          sampler = setInterval(() => {
            const point: [number, number] = [(performance.now() - t0) / 1000, rssKb(pid)];
            rssPoints.push(point);
            onSample?.(...point);
          }, window.sampleMs);
        } else {
          t1 = now;
          endWall = Date.now();
          cpu1 = cpuSeconds(pid);
          echo1 = cpuSeconds(echoPid);
          gen1 = cpuSeconds(Deno.pid);
          clearInterval(sampler);
          rssPoints.push([(now - t0) / 1000, rssKb(pid)]);
          if (target.snapshotDir !== undefined) server.kill("SIGUSR2");
        }
      },
    });
    if (target.snapshotDir !== undefined) {
      const loaded = `${target.snapshotDir}/2.heapsnapshot`;
      await waitForFile(loaded);
      const rows = diffSummaries(
        summarizeSnapshot(
          JSON.parse(await Deno.readTextFile(`${target.snapshotDir}/1.heapsnapshot`)),
        ),
        summarizeSnapshot(JSON.parse(await Deno.readTextFile(loaded))),
        n,
      );
      const total = rows.reduce((sum, r) => sum + r.bytes, 0);
      console.log(
        `Heap snapshots in ${target.snapshotDir}: ${
          f(total / 1024, 1)
        } KB of V8 objects per call ` +
          `(shallow); the largest kinds:`,
      );
      console.log(
        markdown(
          ["kind", "objects/call", "bytes/call"],
          rows.slice(0, 20).map((r) => [r.name.slice(0, 50), f(r.count, 1), f(r.bytes, 0)]),
        ),
      );
    }
    const seconds = (t1 - t0) / 1000;
    const rssEnd = rssPoints[rssPoints.length - 1]?.[1] ?? NaN;
    const memory = readMemory(target.memoryFile);
    const memoryIdle = sampleAt(memory, idleWall);
    let loopLagMaxMs: number | undefined;
    for (let i = 1; i < memory.length; i++) {
      if (memory[i].at < startWall || memory[i - 1].at > endWall) continue;
      const lag = memory[i].at - memory[i - 1].at - PROBE_INTERVAL_MS;
      loopLagMaxMs = Math.max(loopLagMaxMs ?? 0, lag);
    }
    const memoryEnd = sampleAt(memory, endWall);
    return {
      load,
      cpuPct: ((cpu1 - cpu0) / seconds) * 100,
      cpuUsPerFrame: load.framesSent > 0 ? ((cpu1 - cpu0) * 1e6) / load.framesSent : NaN,
      echoCpuPct: ((echo1 - echo0) / seconds) * 100,
      generatorCpuPct: ((gen1 - gen0) / seconds) * 100,
      rssIdleKb,
      rssKb: rssEnd,
      rssPerCallKb: (rssEnd - rssIdleKb) / n,
      rssGrowthKbPerCallPerMin: slope(rssPoints) * 60 / n,
      rssSeries: rssPoints,
      startupMs,
      ...(loopLagMaxMs !== undefined ? { loopLagMaxMs } : {}),
      ...(memoryIdle ? { memoryIdle } : {}),
      ...(memoryEnd ? { memoryEnd } : {}),
    };
  } finally {
    try {
      server.kill("SIGTERM");
    } catch { /* already gone */ }
    const exited = await Promise.race([
      server.status.then(() => true),
      sleep(5000).then(() => false),
    ]);
    if (!exited) {
      try {
        server.kill("SIGKILL");
      } catch { /* gone */ }
      await server.status;
    }
  }
}

/** The floor relay (`--floor`) with the bridge's V8 flags, on a free port. */
function floorTarget(args: Args, echoUrl: string, workDir: string, n: number): Target {
  const port = freePort();
  return {
    name: "floor",
    cmd: [
      "deno",
      "run",
      ...serverV8Flags(args),
      "--allow-net",
      "--allow-env",
      `${ROOT}bench/floor_relay.ts`,
    ],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      PORT: String(port),
      OPENAI_REALTIME_URL: echoUrl,
    },
    cwd: workDir,
    port,
    ...(args.serverOutput !== undefined
      ? { outputFile: `${args.serverOutput}-floor-${n}.log` }
      : {}),
  };
}

/** A peer or floor server's figures for the row, against the direct baseline. */
function serverRow(run: ServerRun, direct: LoadResult): PeerRow {
  return {
    load: run.load,
    addedP50Ms: run.load.rtt.p50 - direct.rtt.p50,
    addedP99Ms: run.load.rtt.p99 - direct.rtt.p99,
    lossPct: lossPct(run.load),
    cpuPct: run.cpuPct,
    cpuUsPerFrame: run.cpuUsPerFrame,
    rssIdleKb: run.rssIdleKb,
    rssKb: run.rssKb,
    rssPerCallKb: run.rssPerCallKb,
    startupMs: run.startupMs,
  };
}

// ---- one row ----------------------------------------------------------------

async function measureRow(
  n: number,
  args: Args,
  echoUrl: string,
  echoPid: number,
  pin: boolean,
  peer: PeerSetup | undefined,
): Promise<Row> {
  const warnings: string[] = [];
  const window = { warmupMs: args.warmup * 1000, measureMs: args.seconds * 1000, sampleMs: 250 };
  const workDir = await Deno.makeTempDir({ prefix: "bridge_bench_" });
  try {
    let peerTarget: Target | undefined;
    if (peer?.ok) {
      peerTarget = {
        name: "peer",
        port: freePort(),
        ...peerCommand(peer.dir, 0, echoUrl),
        ...(args.serverOutput !== undefined
          ? { outputFile: `${args.serverOutput}-peer-${n}.log` }
          : {}),
      };
      peerTarget.env.PORT = String(peerTarget.port);
    }
    const targets = [
      bridgeTarget(args, echoUrl, workDir, n),
      ...(peerTarget ? [peerTarget] : []),
      ...(args.floor ? [floorTarget(args, echoUrl, workDir, n)] : []),
    ];
    // One after another (each alone on its CPU), or all at once (`--together`: the same moment
    // of the machine for each, so its drift between runs cancels out of their ratios).
    const runs: ServerRun[] = [];
    if (args.together) {
      runs.push(
        ...await Promise.all(targets.map((t) => measureServer(t, n, echoPid, pin, window))),
      );
    } else {
      for (const t of targets) runs.push(await measureServer(t, n, echoPid, pin, window));
    }
    const run = runs[0];
    const bridge = run.load;
    const direct = await runLoad({
      mode: "direct",
      url: echoUrl,
      calls: n,
      warmupMs: window.warmupMs,
      measureMs: window.measureMs,
    });
    const otherRow = (name: "peer" | "floor"): PeerRow | undefined => {
      const i = targets.findIndex((t) => t.name === name);
      if (i < 0) return undefined;
      const other = runs[i];
      if (other.load.connected < n) {
        warnings.push(
          `${
            name === "peer" ? "Peer" : "Floor"
          }: only ${other.load.connected} of ${n} calls connected.`,
        );
      }
      return serverRow(other, direct);
    };
    const peerRow = otherRow("peer");
    const floorRow = otherRow("floor");
    const late = [
      bridge,
      direct,
      ...(peerRow ? [peerRow.load] : []),
      ...(floorRow ? [floorRow.load] : []),
    ].map((l) => l.sendLateness.p99);
    const generatorLate = late.some((x) => x > 5);
    if (generatorLate) {
      warnings.push(
        `The generator ran late (send lateness p99 ${
          late.map((x) => x.toFixed(1)).join(" / ")
        } ms bridge / direct${peerRow ? " / peer" : ""}${
          floorRow ? " / floor" : ""
        }): this row measures the machine, not only the server.`,
      );
    }
    if (bridge.connected < n) warnings.push(`Only ${bridge.connected} of ${n} calls connected.`);
    if (bridge.closedEarly > 0) warnings.push(`${bridge.closedEarly} calls closed early.`);
    const perCall = memoryPerCall(run.memoryIdle, run.memoryEnd, n);
    return {
      calls: n,
      bridge,
      direct,
      addedP50Ms: bridge.rtt.p50 - direct.rtt.p50,
      addedP99Ms: bridge.rtt.p99 - direct.rtt.p99,
      lossPct: lossPct(bridge),
      serverCpuPct: run.cpuPct,
      serverCpuUsPerFrame: run.cpuUsPerFrame,
      echoCpuPct: run.echoCpuPct,
      generatorCpuPct: run.generatorCpuPct,
      rssIdleKb: run.rssIdleKb,
      rssKb: run.rssKb,
      rssPerCallKb: run.rssPerCallKb,
      rssGrowthKbPerCallPerMin: run.rssGrowthKbPerCallPerMin,
      ...(perCall ? { memoryPerCall: perCall } : {}),
      ...(run.loopLagMaxMs !== undefined ? { loopLagMaxMs: run.loopLagMaxMs } : {}),
      startupMs: run.startupMs,
      generatorLate,
      ...(peerRow ? { peer: peerRow } : {}),
      ...(floorRow ? { floor: floorRow } : {}),
      warnings,
    };
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

// ---- soak ---------------------------------------------------------------------

function meanOf(points: [number, number][], from: number, to: number): number {
  const ys = points.filter(([t]) => t >= from && t <= to).map(([, y]) => y);
  return ys.length === 0 ? NaN : ys.reduce((a, b) => a + b, 0) / ys.length;
}

async function soak(
  args: Args,
  echoUrl: string,
  echoPid: number,
  pin: boolean,
): Promise<SoakResult> {
  const n = args.calls[0];
  const sampleMs = Math.max(1000, Math.round((args.soak * 1000) / 60));
  const workDir = await Deno.makeTempDir({ prefix: "bridge_soak_" });
  try {
    const target = bridgeTarget(args, echoUrl, workDir, n);
    const run = await measureServer(
      target,
      n,
      echoPid,
      pin,
      { warmupMs: args.warmup * 1000, measureMs: args.soak * 1000, sampleMs },
      (seconds, kb) =>
        console.log(`  soak t=${seconds.toFixed(0)} s RSS ${(kb / 1024).toFixed(1)} MB`),
    );
    const tenth = args.soak / 10;
    const rssStartKb = meanOf(run.rssSeries, 0, tenth);
    const rssEndKb = meanOf(run.rssSeries, args.soak - tenth, args.soak + 1);
    const memory = readMemory(target.memoryFile);
    const heap = (from: number, to: number) => {
      const xs = memory.filter((s) => s.at >= from && s.at <= to).map((s) => s.heapUsed / 1024);
      return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const windowStart = memory.length > 0 ? memory[memory.length - 1].at - args.soak * 1000 : 0;
    const heapStart = heap(windowStart, windowStart + tenth * 1000);
    const heapEnd = heap(windowStart + (args.soak - tenth) * 1000, Infinity);
    return {
      calls: n,
      seconds: args.soak,
      warmupSeconds: args.warmup,
      rss: run.rssSeries,
      sampleSeconds: sampleMs / 1000,
      rssStartKb,
      rssEndKb,
      growthPct: ((rssEndKb - rssStartKb) / rssStartKb) * 100,
      ...(heapStart !== undefined ? { heapUsedStartKb: heapStart } : {}),
      ...(heapEnd !== undefined ? { heapUsedEndKb: heapEnd } : {}),
      load: run.load,
      cpuPct: run.cpuPct,
      ...(run.loopLagMaxMs !== undefined ? { loopLagMaxMs: run.loopLagMaxMs } : {}),
    };
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

// ---- main -------------------------------------------------------------------

async function main(): Promise<number> {
  const args = parseArgs(Deno.args);
  killChildrenOn("SIGINT");
  killChildrenOn("SIGTERM");
  const pin = args.pin && hasTaskset() && navigator.hardwareConcurrency >= 2;
  if (pin) {
    // The generator (this process, all its threads) on CPU 1; the bridge gets CPU 0.
    new Deno.Command("taskset", { args: ["-a", "-p", "-c", "1", String(Deno.pid)], stdout: "null" })
      .outputSync();
  }
  const load = loadAverage();
  const machine = machineDescription();
  let peer: PeerSetup | undefined;
  if (args.peer !== undefined) {
    peer = preparePeer(args.peer, `${ROOT}bench_results/peer`);
    console.log(
      peer.ok
        ? `Peer: Twilio's Node sample in ${peer.dir} (node ${peer.node}, dependencies ${peer.installed}).`
        : `Peer SKIPPED: ${peer.reason}. The bridge is measured alone.`,
    );
  }
  console.log(
    (args.soak > 0
      ? `Soak: N = ${args.calls[0]} for ${args.soak} s after ${args.warmup} s warm-up; `
      : `Relay benchmark: N = ${
        args.calls.join(", ")
      }, ${args.seconds} s measured after ${args.warmup} s warm-up; `) +
      `pinned: ${pin ? "server CPU 0, generator + echo CPU 1" : "no"}; ` +
      (args.together ? "servers side by side (--together); " : "") +
      `machine: ${machine}; load average before: ${load}`,
  );
  const echo = spawn(
    ["deno", "run", "--allow-net", "bench/echo_realtime.ts", "0"],
    { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" },
    pin ? 1 : undefined,
  );
  const rows: Row[] = [];
  let soakResult: SoakResult | undefined;
  try {
    const line = await firstLine(echo.stdout, 20_000);
    const echoPort = Number(line.replace("listening ", ""));
    if (!Number.isInteger(echoPort) || echoPort <= 0) {
      throw new Error(`The echo server did not start (said ${JSON.stringify(line)}).`);
    }
    drain(echo.stderr, []);
    const echoUrl = `ws://127.0.0.1:${echoPort}/v1/realtime`;
    if (args.soak > 0) {
      soakResult = await soak(args, echoUrl, echo.pid, pin);
    } else {
      for (const n of args.calls) {
        const row = await measureRow(n, args, echoUrl, echo.pid, pin, peer);
        rows.push(row);
        console.log(
          `N=${n}: bridge ${summarize(row.bridge.rtt)}; direct ${summarize(row.direct.rtt)}; ` +
            `lost ${row.bridge.framesLost}/${row.bridge.framesSent}; marks echoed ${row.bridge.marksEchoed}; ` +
            `cpu bridge ${f(row.serverCpuPct, 1)} % echo ${f(row.echoCpuPct, 1)} % generator ${
              f(row.generatorCpuPct, 1)
            } %` +
            (row.peer
              ? `; peer ${
                summarize(row.peer.load.rtt)
              }, lost ${row.peer.load.framesLost}/${row.peer.load.framesSent}, cpu ${
                f(row.peer.cpuPct, 1)
              } %`
              : ""),
        );
        for (const w of row.warnings) console.log(`  warning: ${w}`);
      }
    }
  } finally {
    try {
      echo.kill("SIGTERM");
    } catch { /* gone */ }
    await Promise.race([echo.status, sleep(3000)]);
  }
  console.log();
  if (soakResult !== undefined) {
    const s = soakResult;
    console.log(
      markdown(
        ["t (s)", "RSS MB"],
        s.rss.filter((_, i) =>
          i % Math.max(1, Math.floor(s.rss.length / 20)) === 0 || i === s.rss.length - 1
        )
          .map(([t, kb]) => [f(t, 0), f(kb / 1024, 1)]),
      ),
    );
    console.log(
      `\nSoak at N=${s.calls}, ${s.seconds} s after ${s.warmupSeconds} s warm-up: RSS ${
        f(s.rssStartKb / 1024, 1)
      } MB (first tenth) → ${f(s.rssEndKb / 1024, 1)} MB (last tenth), growth ${
        f(s.growthPct, 1)
      } %` +
        (s.heapUsedStartKb !== undefined && s.heapUsedEndKb !== undefined
          ? `; V8 heap used ${f(s.heapUsedStartKb / 1024, 1)} → ${f(s.heapUsedEndKb / 1024, 1)} MB`
          : "") +
        `; frames lost ${s.load.framesLost}/${s.load.framesSent}; added rtt p99 n/a (no direct run in a soak), ` +
        `bridge rtt p50 ${f(s.load.rtt.p50)} p99 ${f(s.load.rtt.p99)} ms; cpu ${
          f(s.cpuPct, 1)
        } %; ` +
        `event-loop lag max ${f(s.loopLagMaxMs ?? NaN, 0)} ms.`,
    );
    if ((s.loopLagMaxMs ?? 0) > 1000 || s.load.rtt.p99 > 1000) {
      console.log(
        "  warning: the bridge fell behind (event-loop lag or round trips over a second): RSS " +
          "then also holds frames queued in socket buffers, so growth is not evidence of a leak. " +
          "Rerun on a quieter machine.",
      );
    }
  } else {
    console.log(table(rows));
    if (rows.some((r) => r.memoryPerCall !== undefined)) {
      console.log("\nBridge memory per call (KB, end of window minus idle):");
      console.log(memoryTable(rows));
    }
    if (rows.some((r) => r.peer !== undefined)) {
      console.log(
        "\nSide by side with Twilio's Node sample (same load, same run; on a shared machine the " +
          "ratios count, not the absolute figures):",
      );
      console.log(peerTable(rows));
    }
    if (rows.some((r) => r.floor !== undefined)) {
      console.log(
        "\nAgainst the floor (bench/floor_relay.ts: the same WebSocket stacks, nothing else; " +
          (args.together ? "at the same time as the bridge" : "same run") +
          "). The bridge's own code is what it costs above the floor:",
      );
      console.log(floorTable(rows));
    }
  }
  const result = {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    machine,
    cpus: navigator.hardwareConcurrency,
    loadAverageBefore: load,
    loadAverageAfter: loadAverage(),
    pinned: pin,
    together: args.together,
    serverRoot: args.serverRoot,
    serverFlags: args.serverFlags,
    /** The V8 flags the bridge ran with: from `deno task start` unless --server-flags set them. */
    bridgeV8Flags: serverV8Flags(args),
    serverEnv: args.serverEnv,
    seconds: args.seconds,
    warmupSeconds: args.warmup,
    ...(peer !== undefined ? { peer } : {}),
    rows,
    ...(soakResult !== undefined ? { soak: soakResult } : {}),
  };
  const out = args.out.startsWith("/") ? args.out : `${ROOT}${args.out}`;
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nJSON written to ${args.out} (load average after: ${result.loadAverageAfter}).`);

  if (args.smoke) {
    const failures: string[] = [];
    for (const r of rows) {
      if (r.bridge.connected !== r.calls) {
        failures.push(`only ${r.bridge.connected} calls connected`);
      }
      if (r.bridge.framesEchoed === 0) failures.push("no frame came back through the bridge");
      if (r.bridge.framesLost > 0) failures.push(`${r.bridge.framesLost} frames lost`);
      if (r.bridge.unmatchedEchoes > 0) {
        failures.push(`${r.bridge.unmatchedEchoes} corrupted echoes`);
      }
      if (r.bridge.marksEchoed === 0) failures.push("the bridge sent no marks");
      if (r.direct.framesLost > 0) {
        failures.push(`${r.direct.framesLost} frames lost on the direct path`);
      }
    }
    if (failures.length > 0) {
      console.error(`Bench smoke run FAILED: ${failures.join("; ")}.`);
      return 1;
    }
    console.log("Bench smoke run passed: every frame came back through the bridge.");
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
