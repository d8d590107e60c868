/**
 * Reads the links and heading anchors of a Markdown file, as GitHub renders
 * them, so a test can check that every relative link of the manual resolves.
 * Code (fenced blocks and inline code spans) is skipped: a link written inside
 * code is not a link.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headingAnchors, markdownLinks } from "./markdown_links.ts";
 * const text = "# Barge-in, exactly\n\nSee [the flow](call-flow.md#ending-the-call) and `[x](y.md)`.\n";
 * assert.deepEqual(markdownLinks(text), [{ target: "call-flow.md#ending-the-call", line: 3 }]);
 * assert.deepEqual([...headingAnchors(text)], ["barge-in-exactly"]);
 * ```
 *
 * @module
 */

/** One inline link or image of a Markdown file. */
export interface MarkdownLink {
  /** The link target as written, e.g. `docs/call-flow.md#barge-in-exactly`. */
  target: string;
  /** 1-based line of the link. */
  line: number;
}

/** The lines of `text` outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((raw, index) => {
    const opener = raw.match(/^\s*(`{3,}|~{3,})/);
    if (fence !== undefined) {
      if (opener !== null && opener[1].startsWith(fence)) fence = undefined;
      return;
    }
    if (opener !== null) {
      fence = opener[1];
      return;
    }
    out.push({ line: index + 1, text: raw });
  });
  return out;
}

/** `line` with its inline code spans removed. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[^`]*?\1/g, "");
}

/**
 * The inline links and images of `text` (`[label](target)`, `![alt](target)`),
 * outside code, in order. An optional title (`[a](b.md "title")`) is dropped.
 */
export function markdownLinks(text: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    for (const match of withoutCodeSpans(raw).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)/g)) {
      links.push({ target: match[1], line });
    }
  }
  return links;
}

/**
 * GitHub's anchor of a heading: lower case, punctuation other than `-` and `_`
 * removed, spaces turned into `-`.
 */
export function slugify(heading: string): string {
  return heading
    .trim()
    .replace(/`/g, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

/**
 * The anchors of the headings of `text` (outside code), as GitHub makes them:
 * a repeated heading gets `-1`, `-2`… appended.
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: raw } of proseLines(text)) {
    const match = raw.match(/^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/);
    if (match === null) continue;
    const base = slugify(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Whether `target` points outside the repository (`https:`, `mailto:`, …). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}
