/**
 * Reads Prometheus text exposition with a real parser
 * (`parse-prometheus-text-format`, a port of Prometheus' own text parser), so
 * tests check that `/metrics` is valid, not just that it contains strings.
 *
 * @module
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One sample of a parsed family. */
export interface ParsedSample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

/** A parsed metric family. */
export interface ParsedFamily {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: ParsedSample[];
}

/** Parses the text; throws on anything the parser rejects. */
export function parseMetrics(text: string): Map<string, ParsedFamily> {
  const families = (parsePrometheusTextFormat as (t: string) => ParsedFamily[])(text);
  return new Map(families.map((f) => [f.name, f]));
}

function matches(sample: ParsedSample, labels: Record<string, string>): boolean {
  const own = sample.labels ?? {};
  return Object.keys(labels).length === Object.keys(own).length &&
    Object.entries(labels).every(([k, v]) => own[k] === v);
}

/** The sample of `name` with exactly `labels`, or undefined. */
export function sampleOf(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): ParsedSample | undefined {
  return families.get(name)?.metrics.find((m) => matches(m, labels));
}

/** The value of a counter or gauge sample (0 when the series does not exist yet). */
export function valueOf(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const sample = sampleOf(families, name, labels);
  return sample?.value === undefined ? 0 : Number(sample.value);
}

/** The observation count of a histogram sample (0 when absent). */
export function countOf(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const sample = sampleOf(families, name, labels);
  return sample?.count === undefined ? 0 : Number(sample.count);
}

const METRIC = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\n"])*"';
const VALUE = "(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN)";
const SAMPLE_LINE = new RegExp(`^(${METRIC})(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})$`);
const HELP_LINE = new RegExp(`^# HELP (${METRIC}) .*$`);
const TYPE_LINE = new RegExp(`^# TYPE (${METRIC}) (counter|gauge|histogram|summary|untyped)$`);

const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\n"])*)"/g;

function unescape(value: string): string {
  return value.replace(/\\([\\n"])/g, (_, c) => (c === "n" ? "\n" : c));
}

function histogramSeries(lines: string[], name: string): ParsedSample[] {
  const series = new Map<string, ParsedSample>();
  for (const line of lines) {
    const m = SAMPLE_LINE.exec(line);
    if (!m || !m[1].startsWith(`${name}_`)) continue;
    const suffix = m[1].slice(name.length + 1);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(LABEL_PAIR)) labels[k] = unescape(v);
    const le = labels.le;
    delete labels.le;
    const key = JSON.stringify(Object.entries(labels).sort());
    let sample = series.get(key);
    if (sample === undefined) {
      sample = Object.keys(labels).length > 0 ? { labels, buckets: {} } : { buckets: {} };
      series.set(key, sample);
    }
    if (suffix === "bucket" && le !== undefined) sample.buckets![le] = m[3];
    if (suffix === "sum") sample.sum = m[3];
    if (suffix === "count") sample.count = m[3];
  }
  return [...series.values()];
}

function bound(le: string): number {
  return le === "+Inf" ? Infinity : Number(le);
}

/**
 * Checks what the lenient npm parser lets through: every line follows the
 * text format grammar, each family has HELP and TYPE before its samples,
 * samples belong to the family above them, no series repeats, and histogram
 * buckets are cumulative and end with `+Inf` equal to `_count`. Returns the
 * families parsed by the npm parser. Throws with the offending line.
 */
export function parseStrict(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new Error("The exposition must end with a newline.");
  let family: { name: string; type: string; help: boolean } | undefined;
  const seenFamilies = new Set<string>();
  const seenSeries = new Set<string>();
  const lines = text.slice(0, -1).split("\n");
  for (const line of lines) {
    const help = HELP_LINE.exec(line);
    if (help) {
      if (seenFamilies.has(help[1])) throw new Error(`Family ${help[1]} appears twice.`);
      seenFamilies.add(help[1]);
      family = { name: help[1], type: "", help: true };
      continue;
    }
    const type = TYPE_LINE.exec(line);
    if (type) {
      if (family?.name !== type[1]) throw new Error(`TYPE without HELP: ${line}`);
      family.type = type[2];
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`Not a valid exposition line: ${JSON.stringify(line)}`);
    if (family === undefined || family.type === "") {
      throw new Error(`Sample before HELP/TYPE: ${line}`);
    }
    const allowed = family.type === "histogram"
      ? [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`]
      : [family.name];
    if (!allowed.includes(sample[1])) {
      throw new Error(`Sample ${sample[1]} is not part of family ${family.name}.`);
    }
    const series = `${sample[1]}${sample[2] ?? ""}`;
    if (seenSeries.has(series)) throw new Error(`Series repeated: ${series}`);
    seenSeries.add(series);
  }
  const families = parseMetrics(text);
  // parse-prometheus-text-format 1.1.1 collapses labeled histograms into one
  // sample, so histogram series are rebuilt here from the checked lines.
  for (const f of families.values()) {
    if (f.type !== "HISTOGRAM") continue;
    f.metrics = histogramSeries(lines, f.name);
    for (const m of f.metrics) {
      const entries = Object.entries(m.buckets ?? {}).sort((x, y) => bound(x[0]) - bound(y[0]));
      if (entries.at(-1)?.[0] !== "+Inf") throw new Error(`${f.name} lacks the +Inf bucket.`);
      let last = 0;
      for (const [le, count] of entries) {
        if (Number(count) < last) throw new Error(`${f.name} bucket ${le} is not cumulative.`);
        last = Number(count);
      }
      if (String(last) !== m.count) throw new Error(`${f.name}: +Inf bucket differs from _count.`);
    }
  }
  return families;
}
