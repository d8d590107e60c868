/**
 * The shape of the source tree, checked like the manual is (tests/docs_test.ts):
 * a package has one door, the rules that belong to one package stay there,
 * every module lives in a folder named for its concept, no module re-exports
 * another outside a `mod.ts`, imports form no cycle, the fake peers are
 * never part of a live call, and nothing is exported (or re-exported by a
 * door) that nothing needs.
 */
import assert from "node:assert/strict";

/** The repository root. */
const ROOT = new URL("../", import.meta.url);

/** The files under `dirs` whose names match `pattern`, as paths from the root. */
function filesUnder(dirs: readonly string[], pattern: RegExp): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) walk(`${path}/`);
      else if (entry.isFile && pattern.test(entry.name)) files.push(path);
    }
  };
  for (const dir of dirs) walk(dir);
  return files;
}

/** Every TypeScript module of `src/`, `main.ts` and `dev.ts`, as paths from the root. */
function sourceModules(): string[] {
  return ["main.ts", "dev.ts", ...filesUnder(["src/"], /\.ts$/)].sort();
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
  const specifiers = [...code(path).matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+\.ts)"/g)].map((m) => m[1]);
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

Deno.test("structure: src/ holds folders only, one per concept", () => {
  const loose = [...Deno.readDirSync(new URL("src/", ROOT))]
    .filter((entry) => !entry.isDirectory)
    .map((entry) => entry.name);
  assert.deepEqual(loose, []);
});

Deno.test("structure: no module re-exports another (export … from) outside a mod.ts", () => {
  const reexports = sourceModules()
    .filter((path) => !path.endsWith("/mod.ts"))
    .filter((path) => /^export\s+(type\s+)?(\*|\{[^}]*\})\s*from\s/m.test(code(path)));
  assert.deepEqual(reexports, [], "import from the module that defines it");
});

/** The import cycles among `modules` (type-only imports count too): each as its modules. */
function cycles(modules: readonly string[]): string[][] {
  const graph = new Map(modules.map((m) => [m, importsOf(m).filter((t) => modules.includes(t))]));
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (module: string) => {
    state.set(module, "open");
    stack.push(module);
    for (const next of graph.get(module) ?? []) {
      if (state.get(next) === "open") found.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(module, "done");
  };
  for (const module of modules) if (!state.has(module)) visit(module);
  return found;
}

Deno.test("structure: imports form no cycle", () => {
  assert.deepEqual(cycles(sourceModules()).map((c) => c.join(" → ")), []);
});

/** Every module `entry` reaches through its static relative imports. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (module: string) => {
    if (seen.has(module)) return;
    seen.add(module);
    for (const next of importsOf(module)) walk(next);
  };
  walk(entry);
  return seen;
}

Deno.test("structure: the fake peers (src/fake_peers/) are never part of a live call", () => {
  const live = [...reachable("main.ts")];
  assert.ok(live.includes("src/http/app.ts"), "the walk follows the server's imports");
  assert.deepEqual(live.filter((path) => path.startsWith("src/fake_peers/")), []);
});

Deno.test("structure: the call audio's frame numbers are defined once, in src/audio/frames.js", () => {
  // The TypeScript modules and the softphone page's scripts alike (a name of its own that is
  // given a number, e.g. `FRAME_SAMPLES = 160`, is a second definition too).
  const definitions = [...sourceModules(), ...filesUnder(["src/"], /\.js$/)]
    .filter((path) => path !== "src/audio/frames.js")
    .filter((path) =>
      /\b(const|let)\s+[A-Z_]*(FRAME_BYTES|BYTES_PER_MS|FRAME_MS|MULAW_SILENCE)\s*=/.test(
        code(path),
      ) || /\b(const|let)\s+FRAME_[A-Z_]*\s*=\s*(0x)?\d/.test(code(path))
    );
  assert.deepEqual(definitions, []);
});

/** Every TypeScript and JavaScript file of the repository (src/, tests/, bench/, the entries). */
function allScripts(): string[] {
  return ["main.ts", "dev.ts", ...filesUnder(["src/", "tests/", "bench/"], /\.(ts|js)$/)];
}

/** The values (functions, classes, constants) a module exports. */
function exportedValues(path: string): string[] {
  return [
    ...code(path).matchAll(
      /^export\s+(?:async\s+)?(?:function\*?|class|const|let|abstract class)\s+([A-Za-z_$][\w$]*)/gm,
    ),
  ].map((m) => m[1]);
}

Deno.test("structure: every exported value is used somewhere else (or shown in its module's example)", () => {
  // Types are checked below: an options interface is needed as part of its function's signature
  // even when no other module names it.
  const scripts = allScripts();
  const texts = new Map(scripts.map((p) => [p, Deno.readTextFileSync(new URL(p, ROOT))]));
  const unused: string[] = [];
  for (const path of sourceModules()) {
    const examples = (texts.get(path)!.match(/\/\*\*[\s\S]*?\*\//g) ?? [])
      .filter((doc) => doc.includes("```") && doc.includes("import"));
    for (const name of exportedValues(path)) {
      const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
      const used = examples.some((doc) => word.test(doc)) ||
        scripts.some((other) => other !== path && word.test(texts.get(other)!));
      if (!used) unused.push(`${path}: ${name}`);
    }
  }
  assert.deepEqual(unused, [], "drop `export` (or the code) where nothing else uses it");
  assert.ok(exportedValues("src/http/route_table.ts").includes("routeRequest"));
});

/**
 * The names each module is imported (or re-exported) by, from every script
 * of the repository: `import { A, type B as C } from "./m.ts"`,
 * `export { A } from "./m.ts"` and `import("./m.ts").A`, keyed by the path of
 * the module named (from the root).
 */
function importedNames(): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  const add = (from: string, specifier: string, name: string) => {
    const dir = from.includes("/") ? from.slice(0, from.lastIndexOf("/") + 1) : "";
    const target = new URL(specifier, new URL(dir, ROOT)).pathname.slice(ROOT.pathname.length);
    if (!names.has(target)) names.set(target, new Set());
    names.get(target)!.add(name);
  };
  for (const path of allScripts()) {
    const text = code(path);
    for (
      const m of text.matchAll(
        /\b(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*"(\.{1,2}\/[^"]+)"/g,
      )
    ) {
      for (const part of m[1].split(",")) {
        const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0].trim();
        if (name !== "") add(path, m[2], name);
      }
    }
    for (const m of text.matchAll(/\bimport\("(\.{1,2}\/[^"]+)"\)\.([\w$]+)/g)) {
      add(path, m[1], m[2]);
    }
  }
  return names;
}

/** One exported declaration, as `deno doc --json` describes it. */
interface DocSymbol {
  name: string;
  declarations: { kind: string; declarationKind?: string; def?: unknown }[];
}

/** The exported declarations of each module of `src/` and the entries (`deno doc --json`). */
async function exportedDeclarations(): Promise<Map<string, DocSymbol[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...sourceModules()],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const doc = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    nodes: Record<string, { symbols?: DocSymbol[] }>;
  };
  return new Map(
    Object.entries(doc.nodes).map(([url, node]) => [
      new URL(url).pathname.slice(ROOT.pathname.length),
      (node.symbols ?? []).filter((s) =>
        s.declarations[0]?.declarationKind === "export" && s.declarations[0].kind !== "reference"
      ),
    ]),
  );
}

/** The type names a declaration refers to (its private class members left out). */
function typeReferences(declaration: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
    } else if (typeof node === "object" && node !== null) {
      const record = node as Record<string, unknown>;
      if (record.accessibility === "private") return;
      if (record.kind === "typeRef" && typeof record.repr === "string") found.add(record.repr);
      for (const value of Object.values(record)) walk(value);
    }
  };
  walk(declaration);
  return found;
}

const TYPE_KINDS = new Set(["interface", "typeAlias", "enum"]);

/**
 * The names among `symbols` (what one module exports) that nothing needs
 * exported: no other module imports them (`imported`), no example of the
 * module shows them, and no declaration of a needed export names them.
 * Values count as needed when `valuesNeeded` (a module's values are checked
 * on their own, above); else they are needed only when imported.
 */
function unneededExports(
  symbols: readonly DocSymbol[],
  imported: ReadonlySet<string>,
  examples: readonly string[],
  valuesNeeded: boolean,
): string[] {
  const types = new Set(
    symbols.filter((s) => TYPE_KINDS.has(s.declarations[0].kind)).map((s) => s.name),
  );
  const needed = new Set(
    symbols.map((s) => s.name).filter((name) =>
      (valuesNeeded && !types.has(name)) || imported.has(name) ||
      examples.some((doc) => new RegExp(`\\b${name}\\b`).test(doc))
    ),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const symbol of symbols) {
      if (!needed.has(symbol.name)) continue;
      for (const name of typeReferences(symbol.declarations)) {
        if (types.has(name) && !needed.has(name)) {
          needed.add(name);
          grew = true;
        }
      }
    }
  }
  return symbols.map((s) => s.name).filter((name) => !needed.has(name));
}

/** The JSDoc examples of module `path` that import something. */
function examplesOf(path: string): string[] {
  return (Deno.readTextFileSync(new URL(path, ROOT)).match(/\/\*\*[\s\S]*?\*\//g) ?? [])
    .filter((doc) => doc.includes("```") && doc.includes("import"));
}

Deno.test("structure: every exported type is imported elsewhere or named by what its module exports", async () => {
  const imported = importedNames();
  const declarations = await exportedDeclarations();
  const residue = [...declarations].flatMap(([path, symbols]) =>
    unneededExports(symbols, imported.get(path) ?? new Set(), examplesOf(path), true)
      .map((name) => `${path}: ${name}`)
  );
  assert.deepEqual(residue, [], "drop `export` (or the type) where nothing needs it");
  // The check sees what it looks for: an options interface lives through its class's
  // constructor; without the class, nothing needs it exported.
  const refusals = declarations.get("src/security/refusal_log.ts")!;
  assert.deepEqual(unneededExports(refusals, new Set(), [], true), []);
  assert.deepEqual(
    unneededExports(refusals.filter((s) => s.name === "RefusalLogOptions"), new Set(), [], true),
    ["RefusalLogOptions"],
  );
});

/** What the door `path` re-exports: each name with the module that defines it. */
function reexports(path: string): { name: string; from: string }[] {
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  return [...code(path).matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"(\.{1,2}\/[^"]+)"/gm)]
    .flatMap((m) =>
      m[1].split(",").map((part) => part.trim().replace(/^type\s+/, "")).filter((part) =>
        part !== ""
      ).map((part) => ({
        name: part.split(/\s+as\s+/).at(-1)!,
        from: new URL(m[2], new URL(dir, ROOT)).pathname.slice(ROOT.pathname.length),
      }))
    );
}

Deno.test("structure: a mod.ts re-exports what is imported through it (and the types that names)", async () => {
  const imported = importedNames();
  const declarations = await exportedDeclarations();
  const doors = sourceModules().filter((path) => path.endsWith("/mod.ts"));
  assert.ok(reexports("src/config/mod.ts").some((r) => r.name === "parseConfig"));
  const unneeded = doors.flatMap((door) => {
    const symbols = reexports(door).map(({ name, from }) => {
      const symbol = declarations.get(from)?.find((s) => s.name === name);
      assert.ok(symbol, `${door} re-exports ${name}, which ${from} does not export`);
      return symbol;
    });
    return unneededExports(symbols, imported.get(door) ?? new Set(), examplesOf(door), false)
      .map((name) => `${door}: ${name}`);
  });
  assert.deepEqual(unneeded, [], "import it through the door, or stop re-exporting it");
});
