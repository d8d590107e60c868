/**
 * Start-up warnings for variables that look like settings of this server but
 * are not (`VOICES=coral`): close to a known name by edit distance, or
 * starting with a prefix that several known names share (`OPENAI_`,
 * `TWILIO_`, `VAD_`, `REALTIME_`, `CALL_`, `PRICE_`…). Unrelated variables
 * (`PATH`, `HOME`, …) are never mentioned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unknownVariableWarnings } from "./unknown_vars.ts";
 *
 * const known = ["VOICE", "PORT", "OPENAI_MODEL", "OPENAI_API_KEY"];
 * assert.deepEqual(unknownVariableWarnings({ VOICES: "coral", HOME: "/root" }, known), [
 *   "VOICES is not a setting of this server; did you mean VOICE?",
 * ]);
 * ```
 *
 * @module
 */
import { listWords } from "./kinds.ts";

/** Variables of the system and common tools, never warned about even when close to ours. */
const WELL_KNOWN = new Set([
  "PATH",
  "HOME",
  "HOST",
  "HOSTNAME",
  "HOSTTYPE",
  "USER",
  "SHELL",
  "PWD",
  "OLDPWD",
  "TERM",
  "LANG",
  "TZ",
  "MAIL",
  "EDITOR",
  "LOGNAME",
  "DISPLAY",
]);

/**
 * Edit distance between two strings counting a swap of two neighbouring
 * letters as one edit (optimal string alignment): `VOCIE` is one edit from
 * `VOICE`, as `VOICES` is, where plain Levenshtein would count two and let a
 * swapped short name pass unnoticed.
 */
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j], beforePrevious[j - 2] + 1);
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length];
}

/** The prefixes (first word and `_`) shared by two or more known names. */
function sharedPrefixes(known: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const name of known) {
    const cut = name.indexOf("_");
    if (cut > 0) {
      const prefix = name.slice(0, cut + 1);
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    }
  }
  return [...counts].filter(([, count]) => count >= 2).map(([prefix]) => prefix);
}

/** The known name closest to `name`, when close enough to be a typo of it. */
function closest(name: string, known: readonly string[]): string | undefined {
  const upper = name.toUpperCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(upper, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // One edit for short names (HOME is not HOST), two for longer ones, three past 12 letters.
  const allowed = upper.length <= 5 ? 1 : upper.length <= 12 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}

/**
 * Warnings for the variables of `env` that look like misspelled settings.
 *
 * @param env The environment the server was started with.
 * @param known The names of every setting.
 * @returns One warning per suspicious variable, naming the likely intended one.
 */
export function unknownVariableWarnings(
  env: Readonly<Record<string, string | undefined>>,
  known: readonly string[],
): string[] {
  const knownSet = new Set(known);
  const prefixes = sharedPrefixes(known);
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (knownSet.has(name) || WELL_KNOWN.has(name.toUpperCase())) continue;
    const suggestion = closest(name, known);
    if (suggestion !== undefined) {
      warnings.push(`${name} is not a setting of this server; did you mean ${suggestion}?`);
      continue;
    }
    const prefix = prefixes.find((p) => name.toUpperCase().startsWith(p));
    if (prefix !== undefined) {
      const family = known.filter((k) => k.startsWith(prefix));
      warnings.push(
        `${name} is not a setting of this server and is ignored; the ${prefix} settings are ${
          listWords(family, "and")
        }.`,
      );
    }
  }
  return warnings;
}
