/**
 * `deno task doctor`: checks, before the first call, that the OpenAI key,
 * the model, the Twilio credentials, the number's webhook, `PUBLIC_URL` and
 * the port are right, and that the agents file loads (its problems ✘, its and
 * the configuration's warnings ⚠), and says what to do about each one that
 * is not. Reads `.env` like the server. Exits with 1 when a check fails (✘), so it can gate
 * a deployment; checks that cannot run (–) do not fail it.
 *
 * @example
 * ```ts ignore
 * // deno task doctor
 * // ✔ OpenAI accepted the API key.
 * // ✔ Model gpt-realtime is available.
 * // – Twilio credentials: not set.
 * // …
 * ```
 *
 * @module
 */
import { ConfigError, parseConfig } from "../config/mod.ts";
import { loadEnvFile } from "../config/mod.ts";
import {
  agentsFileChecks,
  type DoctorDependencies,
  formatDoctorChecks,
  runDoctorChecks,
} from "./doctor_checks.ts";
import { loadAgents } from "../agents/agent_book.ts";

/**
 * Runs the doctor on `env`, writing its lines with `print`; returns the exit code.
 *
 * @example
 * ```ts
 * import { doctor } from "./doctor.ts";
 * const lines: string[] = [];
 * const code = await doctor({ PORT: "abc" }, (line) => lines.push(line));
 * if (code !== 1 || !lines[0].startsWith("✘ The configuration has")) throw new Error(lines[0]);
 * ```
 */
export async function doctor(
  env: Record<string, string | undefined>,
  print: (line: string) => void,
  dependencies: DoctorDependencies = {},
): Promise<number> {
  let config;
  try {
    config = parseConfig(env);
  } catch (error) {
    print(`✘ ${error instanceof ConfigError ? error.message : String(error)}`);
    return 1;
  }
  // The agents file, loaded as the server loads it: its problems fail, its warnings are shown, and
  // its agents' models are checked too (each on its engine).
  const agents = loadAgents({ config, file: config.agentsFile, env });
  const models = agents.ok
    ? agents.book.profiles.map((p) => ({ engine: p.engine, model: p.model }))
    : [];
  const checks = [
    ...await runDoctorChecks(config, { models, ...dependencies }),
    ...agentsFileChecks(agents, config.agentsFile, config.warnings),
  ];
  print(formatDoctorChecks(checks));
  const failed = checks.filter((c) => c.status === "fail").length;
  print(
    failed === 0
      ? "\nAll checks passed."
      : `\n${failed} check${failed === 1 ? "" : "s"} failed: fix ${
        failed === 1 ? "it" : "them"
      }, then run deno task doctor again.`,
  );
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await doctor(loadEnvFile(), (line) => console.log(line)));
}
