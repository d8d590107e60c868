/**
 * The shape of the source tree, checked like the manual is (tests/docs_test.ts):
 * a package has one door, and the rules that belong to one package stay there.
 */
import assert from "node:assert/strict";

/** The repository root. */
const ROOT = new URL("../", import.meta.url);

/** Every TypeScript module of `src/` and `main.ts`, as paths from the root. */
function sourceModules(): string[] {
  const files = ["main.ts"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) walk(`${path}/`);
      else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
    }
  };
  walk("src/");
  return files.sort();
}

/** A module's code without its comments (JSDoc examples may show anything). */
function code(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT))
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
}

/** The relative module specifiers a module imports or re-exports, resolved from the root. */
function importsOf(path: string): string[] {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const specifiers = [...code(path).matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
  return specifiers.map((s) => new URL(s, new URL(dir, ROOT)).pathname.slice(ROOT.pathname.length));
}

Deno.test("structure: only src/config/ reads the environment (Deno.env, DENO_DEPLOYMENT_ID)", () => {
  const readers = sourceModules()
    .filter((path) => !path.startsWith("src/config/"))
    .filter((path) => /\bDeno\.env\b|DENO_DEPLOYMENT_ID/.test(code(path)));
  assert.deepEqual(readers, [], "read the environment through src/config/mod.ts");
});

Deno.test("structure: the config package has one door, src/config/mod.ts", () => {
  const sideDoors = sourceModules()
    .filter((path) => !path.startsWith("src/config/"))
    .flatMap((path) =>
      importsOf(path)
        .filter((target) => target.startsWith("src/config/") && target !== "src/config/mod.ts")
        .map((target) => `${path} imports ${target}`)
    );
  assert.deepEqual(sideDoors, []);
});

Deno.test("structure: the checks see what they look for", () => {
  assert.ok(sourceModules().includes("src/config/mod.ts"));
  assert.ok(/\bDeno\.env\b/.test(code("src/config/env_file.ts")));
  assert.ok(importsOf("main.ts").includes("src/config/mod.ts"));
});
