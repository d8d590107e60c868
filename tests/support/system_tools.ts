/**
 * Helpers for tests that need system tools (sox, espeak-ng, chromium). A
 * missing tool fails the test loudly with the command that installs it:
 * `.ci/run` installs them, so a skip would only hide a broken CI machine.
 *
 * @example
 * ```ts
 * import { requireCommand, run } from "./system_tools.ts";
 *
 * const sh = await requireCommand("sh", "dash");
 * const out = new TextDecoder().decode(await run(sh, ["-c", "echo hi"]));
 * if (out !== "hi\n") throw new Error(out);
 * ```
 *
 * @module
 */

/** Throws a clear error when `command` is not on the PATH (or at the given path). */
export async function requireCommand(command: string, aptPackage: string): Promise<string> {
  const candidates = command.startsWith("/") ? [command] : (Deno.env.get("PATH") ?? "")
    .split(":").filter((dir) => dir !== "").map((dir) => `${dir}/${command}`);
  for (const path of candidates) {
    try {
      const info = await Deno.stat(path);
      if (info.isFile) return path;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${command} is required by this test but was not found. Install it with ` +
      `"apt-get install -y ${aptPackage}" (.ci/run does this), then run the tests again.`,
  );
}

/** Runs a command to completion; throws with its stderr when it fails. */
export async function run(command: string, args: string[]): Promise<Uint8Array> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed (exit ${output.code}): ${
        new TextDecoder().decode(output.stderr).slice(0, 500)
      }`,
    );
  }
  return output.stdout;
}
