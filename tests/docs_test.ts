import assert from "node:assert/strict";
import { headingAnchors, isExternal, markdownLinks, slugify } from "./support/markdown_links.ts";

/** The repository root. */
const ROOT = new URL("../", import.meta.url);
/** The README is the front page: it stays short. */
const README_MAX_BYTES = 12_288;

/** README.md and every Markdown page of docs/, as URLs. */
function manualFiles(): URL[] {
  const files = [new URL("README.md", ROOT)];
  const docs = new URL("docs/", ROOT);
  for (const entry of Deno.readDirSync(docs)) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(new URL(entry.name, docs));
  }
  return files.sort((a, b) => a.href.localeCompare(b.href));
}

function relative(url: URL, root: URL = ROOT): string {
  return decodeURIComponent(url.pathname.slice(root.pathname.length));
}

function statOrUndefined(url: URL): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * The problems of the relative links of `file`: missing files, missing headings,
 * links out of `root`.
 */
function brokenLinks(file: URL, root: URL = ROOT): string[] {
  const problems: string[] = [];
  const text = Deno.readTextFileSync(file);
  for (const { target, line } of markdownLinks(text)) {
    if (isExternal(target)) continue;
    const hash = target.indexOf("#");
    const path = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const where = `${relative(file, root)}:${line}: link "${target}"`;
    const resolved = path === "" ? file : new URL(path, file);
    if (!resolved.href.startsWith(root.href)) {
      problems.push(`${where} points outside the repository.`);
      continue;
    }
    const info = statOrUndefined(resolved);
    if (info === undefined) {
      problems.push(`${where}: ${relative(resolved, root)} does not exist.`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!info.isFile || !resolved.pathname.endsWith(".md")) {
      problems.push(
        `${where}: an anchor needs a Markdown file, ${relative(resolved, root)} is not one.`,
      );
      continue;
    }
    const anchors = headingAnchors(Deno.readTextFileSync(resolved));
    if (!anchors.has(anchor)) {
      problems.push(
        `${where}: ${relative(resolved, root)} has no heading "#${anchor}" (it has: ${
          [...anchors].map((a) => `#${a}`).join(", ")
        }).`,
      );
    }
  }
  return problems;
}

Deno.test("docs: every relative link of README.md and docs/*.md resolves, heading included", () => {
  const files = manualFiles();
  assert.ok(files.length > 5, `expected README.md and the docs/ pages, found ${files.length}`);
  const problems = files.flatMap((file) => brokenLinks(file));
  assert.deepEqual(problems, [], `Broken links in the manual:\n${problems.join("\n")}`);
});

Deno.test("docs: README.md stays a front page of at most 12 KB", () => {
  const bytes = Deno.statSync(new URL("README.md", ROOT)).size;
  assert.ok(
    bytes <= README_MAX_BYTES,
    `README.md is ${bytes} bytes, over ${README_MAX_BYTES}: move the detail to a page of docs/.`,
  );
});

Deno.test("docs: the README keeps its two set-up commands, deno task demo and deno task test", () => {
  const text = Deno.readTextFileSync(new URL("README.md", ROOT));
  const firstScreen = text.split("\n").slice(0, 40).join("\n");
  assert.match(firstScreen, /^deno task demo\b/m);
  assert.match(firstScreen, /^deno task test\b/m);
  // .ci/run runs exactly the README's test command.
  const ci = Deno.readTextFileSync(new URL(".ci/run", ROOT));
  assert.match(ci, /^deno task test\b/m);
});

Deno.test("docs: deno task test runs the files in parallel, test:serial is the same one after another", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).tasks;
  const words = (command: string) => command.split(/\s+/).filter((w) => w !== "--parallel");
  assert.ok(tasks.test.command.split(/\s+/).includes("--parallel"), "the gate runs in parallel");
  assert.ok(!tasks["test:serial"].command.split(/\s+/).includes("--parallel"));
  assert.deepEqual(words(tasks["test:serial"].command), words(tasks.test.command));
  assert.equal(tasks["test:parallel"], undefined, "one task per way of running");
  const testing = Deno.readTextFileSync(new URL("docs/testing.md", ROOT));
  assert.match(
    testing,
    /`deno task test` runs the test files in parallel\s+\(`deno test\s+--parallel`/,
  );
  assert.match(
    testing,
    /`deno task test:serial` runs the same suite\s+one\s+file\s+after\s+another/,
  );
});

Deno.test("docs: the link checker finds a missing file and a missing heading", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = new URL(`file://${dir}/`);
    const page = new URL("docs/page.md", root);
    Deno.mkdirSync(new URL("docs/", root));
    Deno.writeTextFileSync(
      page,
      [
        "# Page",
        "## Barge-in, exactly",
        "[ok](#barge-in-exactly) [ok](page.md#page) [web](https://example.com/x.md)",
        "[gone](missing.md) [no heading](page.md#ending) `[code](ignored.md)`",
        "[out](../../etc/passwd)",
        "```",
        "[fenced](also-ignored.md)",
        "```",
      ].join("\n"),
    );
    const problems = brokenLinks(page, root);
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(
      problems[0],
      /^docs\/page\.md:4: link "missing\.md": docs\/missing\.md does not exist/,
    );
    assert.match(problems[1], /link "page\.md#ending".*has no heading "#ending"/);
    assert.match(problems[2], /^docs\/page\.md:5: link "\.\.\/\.\.\/etc\/passwd" points outside/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs: anchors are made as GitHub makes them", () => {
  assert.equal(slugify("Softphone & offline demo"), "softphone--offline-demo");
  assert.equal(
    slugify("The OpenAI session: renewal and reconnects"),
    "the-openai-session-renewal-and-reconnects",
  );
  assert.equal(slugify("`GET /readyz` and μ-law"), "get-readyz-and-μ-law");
  assert.deepEqual([...headingAnchors("# A\n## A\n### A\n")], ["a", "a-1", "a-2"]);
});
