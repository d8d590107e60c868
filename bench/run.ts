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
 * the bridge) `--server-root=/path/to/other/checkout` (bench another version of
 * the bridge, e.g. `git archive <commit> | tar -x -C /tmp/before`, under the
 * same conditions).
 *
 * The bridge process is pinned to CPU 0 and this generator plus the echo
 * server to CPU 1 when `taskset` exists and the machine has two CPUs or more.
 *
 * @module
 */
import { type Distribution, type LoadResult, runLoad } from "./load_generator.ts";

const ROOT = new URL("..", import.meta.url).pathname;

interface Args {
  calls: number[];
  seconds: number;
  warmup: number;
  out: string;
  smoke: boolean;
  pin: boolean;
  /** Extra `deno run` flags for the bridge process (e.g. V8 flags). */
  serverFlags: string[];
  /** Directory whose `main.ts` is the bridge (default: this checkout). */
  serverRoot: string;
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
    serverRoot: ROOT,
  };
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
  if (args.calls.length === 0 || !(args.seconds > 0) || !(args.seconds <= 60)) {
    throw new Error("--calls needs positive integers and --seconds a number from 0 to 60.");
  }
  return args;
}

// ---- /proc sampling ---------------------------------------------------------

const CLK_TCK = 100;

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size in KB, from /proc/<pid>/status. */
function rssKb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = status.match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** Least-squares slope of (t, y) points. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  let st = 0, sy = 0, stt = 0, sty = 0;
  for (const [t, y] of points) {
    st += t;
    sy += y;
    stt += t * t;
    sty += t * y;
  }
  const d = n * stt - st * st;
  return d === 0 ? NaN : (n * sty - st * sy) / d;
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

function spawn(
  cmd: string[],
  env: Record<string, string>,
  cpu: number | undefined,
  cwd = ROOT,
) {
  const argv = cpu === undefined ? cmd : ["taskset", "-c", String(cpu), ...cmd];
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
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

function drain(stream: ReadableStream<Uint8Array>, keep: string[]): void {
  (async () => {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (keep.length < 50) keep.push(value);
      }
    } catch { /* closed */ }
  })();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

// ---- one row ----------------------------------------------------------------

interface Row {
  calls: number;
  bridge: LoadResult;
  direct: LoadResult;
  addedP50Ms: number;
  addedP99Ms: number;
  lossPct: number;
  serverCpuPct: number;
  echoCpuPct: number;
  generatorCpuPct: number;
  rssIdleKb: number;
  rssKb: number;
  rssPerCallKb: number;
  rssGrowthKbPerCallPerMin: number;
  startupMs: number;
  generatorLate: boolean;
  warnings: string[];
}

async function measureRow(
  n: number,
  args: Args,
  echoUrl: string,
  echoPid: number,
  pin: boolean,
): Promise<Row> {
  const warnings: string[] = [];
  const port = freePort();
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
    OPENAI_API_KEY: "sk-bench-not-a-key",
    OPENAI_REALTIME_URL: echoUrl,
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
  };
  if (env.DENO_DIR === "") delete (env as Record<string, string>).DENO_DIR;
  const workDir = await Deno.makeTempDir({ prefix: "bridge_bench_" });
  const spawnedAt = performance.now();
  const server = spawn(
    [
      "deno",
      "run",
      ...args.serverFlags,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys=hostname",
      `--config=${args.serverRoot}deno.json`,
      `${args.serverRoot}main.ts`,
    ],
    env,
    pin ? 0 : undefined,
    // An empty working directory: a developer's .env must not configure the benched bridge.
    workDir,
  );
  const serverOut: string[] = [];
  drain(server.stdout, serverOut);
  drain(server.stderr, serverOut);
  try {
    const startupMs = await waitForFirstCall(port, spawnedAt).catch((error) => {
      throw new Error(`${error.message}\nBridge output:\n${serverOut.join("").slice(-2000)}`);
    });
    await sleep(300);
    const pid = server.pid;
    const rssIdleKb = rssKb(pid);
    const rssPoints: [number, number][] = [];
    let cpu0 = 0, cpu1 = 0, echo0 = 0, echo1 = 0, gen0 = 0, gen1 = 0, t0 = 0, t1 = 0;
    let sampler: ReturnType<typeof setInterval> | undefined;
    const bridge = await runLoad({
      mode: "bridge",
      url: `ws://127.0.0.1:${port}/media-stream`,
      calls: n,
      warmupMs: args.warmup * 1000,
      measureMs: args.seconds * 1000,
      onWindow: (edge) => {
        const now = performance.now();
        if (edge === "start") {
          t0 = now;
          cpu0 = cpuSeconds(pid);
          echo0 = cpuSeconds(echoPid);
          gen0 = cpuSeconds(Deno.pid);
          rssPoints.push([0, rssKb(pid)]);
          sampler = setInterval(() => {
            rssPoints.push([(performance.now() - t0) / 60_000, rssKb(pid)]);
          }, 250);
        } else {
          t1 = now;
          cpu1 = cpuSeconds(pid);
          echo1 = cpuSeconds(echoPid);
          gen1 = cpuSeconds(Deno.pid);
          clearInterval(sampler);
          rssPoints.push([(now - t0) / 60_000, rssKb(pid)]);
        }
      },
    });
    const seconds = (t1 - t0) / 1000;
    const rssEnd = rssPoints[rssPoints.length - 1]?.[1] ?? NaN;
    const direct = await runLoad({
      mode: "direct",
      url: echoUrl,
      calls: n,
      warmupMs: args.warmup * 1000,
      measureMs: args.seconds * 1000,
    });
    const generatorLate = bridge.sendLateness.p99 > 5 || direct.sendLateness.p99 > 5;
    if (generatorLate) {
      warnings.push(
        `The generator ran late (send lateness p99 ${
          bridge.sendLateness.p99.toFixed(1)
        } ms bridge, ${
          direct.sendLateness.p99.toFixed(1)
        } ms direct): this row measures the machine, not only the server.`,
      );
    }
    if (bridge.connected < n) warnings.push(`Only ${bridge.connected} of ${n} calls connected.`);
    if (bridge.closedEarly > 0) warnings.push(`${bridge.closedEarly} calls closed early.`);
    const serverCpuPct = ((cpu1 - cpu0) / seconds) * 100;
    return {
      calls: n,
      bridge,
      direct,
      addedP50Ms: bridge.rtt.p50 - direct.rtt.p50,
      addedP99Ms: bridge.rtt.p99 - direct.rtt.p99,
      lossPct: bridge.framesSent === 0 ? 100 : (bridge.framesLost / bridge.framesSent) * 100,
      serverCpuPct,
      echoCpuPct: ((echo1 - echo0) / seconds) * 100,
      generatorCpuPct: ((gen1 - gen0) / seconds) * 100,
      rssIdleKb,
      rssKb: rssEnd,
      rssPerCallKb: (rssEnd - rssIdleKb) / n,
      rssGrowthKbPerCallPerMin: slope(rssPoints) / n,
      startupMs,
      generatorLate,
      warnings,
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
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

// ---- output -----------------------------------------------------------------

function f(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function table(rows: Row[]): string {
  const head = [
    "N",
    "rtt p50",
    "rtt p99",
    "direct p50",
    "direct p99",
    "added p50",
    "added p99",
    "loss %",
    "cpu %",
    "RSS MB",
    "KB/call",
    "KB/call/min",
    "start ms",
    "gen late",
  ];
  const lines = rows.map((r) => [
    String(r.calls),
    f(r.bridge.rtt.p50),
    f(r.bridge.rtt.p99),
    f(r.direct.rtt.p50),
    f(r.direct.rtt.p99),
    f(r.addedP50Ms),
    f(r.addedP99Ms),
    f(r.lossPct, 3),
    f(r.serverCpuPct, 1),
    f(r.rssKb / 1024, 1),
    f(r.rssPerCallKb, 1),
    f(r.rssGrowthKbPerCallPerMin, 1),
    f(r.startupMs, 0),
    r.generatorLate
      ? `yes (${f(Math.max(r.bridge.sendLateness.p99, r.direct.sendLateness.p99), 1)})`
      : "no",
  ]);
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((l) => l[i].length)));
  const fmt = (l: string[]) => "| " + l.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
  return [
    fmt(head),
    "|" + widths.map((w) => "-".repeat(w + 1) + ":").join("|") + "|",
    ...lines.map(fmt),
  ]
    .join("\n");
}

function summarize(d: Distribution): string {
  return `p50 ${f(d.p50)} p90 ${f(d.p90)} p99 ${f(d.p99)} max ${f(d.max)} ms (${d.count})`;
}

// ---- main -------------------------------------------------------------------

async function main(): Promise<number> {
  const args = parseArgs(Deno.args);
  const pin = args.pin && hasTaskset() && navigator.hardwareConcurrency >= 2;
  if (pin) {
    // The generator (this process, all its threads) on CPU 1; the bridge gets CPU 0.
    new Deno.Command("taskset", { args: ["-a", "-p", "-c", "1", String(Deno.pid)], stdout: "null" })
      .outputSync();
  }
  const load = loadAverage();
  console.log(
    `Relay benchmark: N = ${
      args.calls.join(", ")
    }, ${args.seconds} s measured after ${args.warmup} s warm-up; ` +
      `pinned: ${
        pin ? "bridge CPU 0, generator + echo CPU 1" : "no"
      }; load average before: ${load}`,
  );
  const echo = spawn(
    ["deno", "run", "--allow-net", "bench/echo_realtime.ts", "0"],
    { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" },
    pin ? 1 : undefined,
  );
  const rows: Row[] = [];
  let failures: string[] = [];
  try {
    const line = await firstLine(echo.stdout, 20_000);
    const echoPort = Number(line.replace("listening ", ""));
    if (!Number.isInteger(echoPort) || echoPort <= 0) {
      throw new Error(`The echo server did not start (said ${JSON.stringify(line)}).`);
    }
    drain(echo.stderr, []);
    const echoUrl = `ws://127.0.0.1:${echoPort}/v1/realtime`;
    for (const n of args.calls) {
      const row = await measureRow(n, args, echoUrl, echo.pid, pin);
      rows.push(row);
      console.log(
        `N=${n}: bridge ${summarize(row.bridge.rtt)}; direct ${summarize(row.direct.rtt)}; ` +
          `lost ${row.bridge.framesLost}/${row.bridge.framesSent}; marks echoed ${row.bridge.marksEchoed}; ` +
          `cpu bridge ${f(row.serverCpuPct, 1)} % echo ${f(row.echoCpuPct, 1)} % generator ${
            f(row.generatorCpuPct, 1)
          } %`,
      );
      for (const w of row.warnings) console.log(`  warning: ${w}`);
    }
  } finally {
    try {
      echo.kill("SIGTERM");
    } catch { /* gone */ }
    await Promise.race([echo.status, sleep(3000)]);
  }
  console.log();
  console.log(table(rows));
  const result = {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    loadAverageBefore: load,
    loadAverageAfter: loadAverage(),
    pinned: pin,
    serverRoot: args.serverRoot,
    seconds: args.seconds,
    warmupSeconds: args.warmup,
    rows,
  };
  const out = args.out.startsWith("/") ? args.out : `${ROOT}${args.out}`;
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nJSON written to ${args.out} (load average after: ${result.loadAverageAfter}).`);

  if (args.smoke) {
    failures = [];
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
