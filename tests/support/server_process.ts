/**
 * Runs the server (or another entry point of the project) as a real child
 * process with a clean environment, for tests of what only a process shows:
 * signals, exit codes, start-up errors.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root (where deno.json is). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The arguments of `deno run` for one of the project's entry points (`main.ts`,
 * `src/cli/doctor.ts`, …) with the project's config and exactly the given
 * permissions (`net`, `env`, `read`, `write`, `sys=hostname`), then the
 * program's own arguments.
 */
export function denoRunArgs(
  entry: string,
  permissions: readonly string[],
  programArgs: readonly string[] = [],
): string[] {
  return [
    "run",
    "--config",
    `${ROOT}deno.json`,
    ...permissions.map((p) => `--allow-${p}`),
    `${ROOT}${entry}`,
    ...programArgs,
  ];
}

/** Options of {@link ServerProcess.spawn}. */
export interface ServerProcessOptions {
  /** The program, default `Deno.execPath()`. */
  command?: string;
  /** Its arguments. */
  args: string[];
  /** Variables of the child; HOME, PATH, DENO_DIR and XDG_CACHE_HOME are added from this process. */
  env: Record<string, string>;
  /**
   * The child leads its own process group (started with `setsid`): disposing
   * kills the whole group, so no grandchild outlives the test.
   */
  processGroup?: boolean;
  /** Working directory, default a new temporary directory without `.env` (removed at the end). */
  cwd?: string;
}

/** Reads a child's output stream into `lines`, resolving when it ends. */
async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  }
  if (rest !== "") lines.push(rest);
}

/** A child process whose stdout and stderr are collected line by line. */
export class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly cwd: string;
  #reading: Promise<unknown>;
  #ownCwd: boolean;
  #group: boolean;
  #disposed = false;

  private constructor(child: Deno.ChildProcess, cwd: string, ownCwd: boolean, group: boolean) {
    this.child = child;
    this.#group = group;
    this.cwd = cwd;
    this.#ownCwd = ownCwd;
    this.#reading = Promise.all([collect(child.stdout, this.out), collect(child.stderr, this.err)]);
  }

  /** Starts the child. */
  static async spawn(options: ServerProcessOptions): Promise<ServerProcess> {
    const cwd = options.cwd ?? await Deno.makeTempDir();
    const env = { ...options.env };
    for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const value = Deno.env.get(name);
      if (value !== undefined && env[name] === undefined) env[name] = value;
    }
    const child = new Deno.Command(options.command ?? Deno.execPath(), {
      args: options.args,
      cwd,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new ServerProcess(child, cwd, options.cwd === undefined, options.processGroup ?? false);
  }

  /** Every line written so far, stdout then stderr. */
  get output(): string {
    return [...this.out, ...this.err].join("\n");
  }

  /** The port from the JSON "Listening on" line, waiting up to `timeoutMs`. */
  async port(timeoutMs = 30_000): Promise<number> {
    const start = performance.now();
    while (true) {
      const line = this.out.find((l) => l.includes("Listening on"));
      if (line !== undefined) return JSON.parse(line).port;
      if (performance.now() - start > timeoutMs) {
        throw new Error(`The server did not start: ${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Kills the child (if still running), waits for it and its output, removes
   * its own cwd. Safe to call twice.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      if (this.#group) Deno.kill(-this.child.pid, "SIGKILL");
      else this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.child.status;
    await this.#reading;
    if (this.#ownCwd) await Deno.remove(this.cwd, { recursive: true });
  }
}
