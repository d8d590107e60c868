/**
 * A small Prometheus metrics registry: counters, gauges and histograms with
 * labels, rendered in the Prometheus text exposition format (version 0.0.4).
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 * const registry = new MetricsRegistry();
 * const calls = registry.counter({ name: "calls_total", help: "Calls.", labelNames: ["outcome"] });
 * calls.inc({ outcome: "caller_hung_up" });
 * if (!registry.render().includes('calls_total{outcome="caller_hung_up"} 1')) throw new Error();
 * ```
 *
 * @module
 */

/** The content type of {@link MetricsRegistry.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label values by label name. */
export type Labels = Record<string, string>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** At most this many label combinations per metric; further ones go to `other`. */
const DEFAULT_MAX_SERIES = 200;

/** What every metric definition has. */
export interface MetricOptions {
  /** Metric name, e.g. `bridge_calls_total`. */
  name: string;
  /** One line of help text. */
  help: string;
  /** Names of the labels, in order. Default none. */
  labelNames?: readonly string[];
  /**
   * Label combinations kept; beyond it, values are replaced by `other` so a
   * misbehaving label cannot grow memory without bound. Default 200.
   */
  maxSeries?: number;
}

/** Options of a histogram. */
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, ascending (`+Inf` is added). */
  buckets: readonly number[];
}

/** Options of a gauge. */
export interface GaugeOptions extends MetricOptions {
  /** Called at each scrape to read the value (gauges without labels only). */
  collect?: () => number;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function escapeHelp(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function renderLabels(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((name, i) => `${name}="${escapeLabelValue(values[i])}"`);
  if (extra !== "") parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

abstract class Metric<T> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected series = new Map<string, { values: string[]; data: T }>();
  #maxSeries: number;

  constructor(options: MetricOptions) {
    if (!NAME.test(options.name)) {
      throw new Error(`Metric name "${options.name}" is invalid: use letters, digits, _ and :.`);
    }
    for (const label of options.labelNames ?? []) {
      if (!LABEL_NAME.test(label) || label === "le" || label.startsWith("__")) {
        throw new Error(`Label name "${label}" of metric ${options.name} is invalid.`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    this.#maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  }

  protected abstract initial(): T;

  protected entry(labels: Labels = {}): T {
    let values = this.labelNames.map((name) => labels[name] ?? "");
    let key = JSON.stringify(values);
    let found = this.series.get(key);
    if (found === undefined && this.series.size >= this.#maxSeries) {
      values = this.labelNames.map(() => "other");
      key = JSON.stringify(values);
      found = this.series.get(key);
    }
    if (found === undefined) {
      found = { values, data: this.initial() };
      this.series.set(key, found);
    }
    return found.data;
  }

  abstract get type(): string;
  abstract renderSamples(lines: string[]): void;
}

/** A monotonically increasing count. */
export class Counter extends Metric<{ value: number }> {
  /** Creates a counter; use {@link MetricsRegistry.counter}. */
  constructor(options: MetricOptions) {
    super(options);
    if (this.labelNames.length === 0) this.entry();
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }

  /** Adds `amount` (default 1; negative amounts are ignored). */
  inc(labels: Labels = {}, amount = 1): void {
    if (!(amount > 0) || !Number.isFinite(amount)) return;
    this.entry(labels).value += amount;
  }

  /** The current value for `labels` (0 when never incremented). */
  get(labels: Labels = {}): number {
    const key = JSON.stringify(this.labelNames.map((name) => labels[name] ?? ""));
    return this.series.get(key)?.data.value ?? 0;
  }

  /** `counter`. */
  get type(): string {
    return "counter";
  }

  /** Appends the sample lines. */
  renderSamples(lines: string[]): void {
    for (const { values, data } of this.series.values()) {
      lines.push(
        `${this.name}${renderLabels(this.labelNames, values)} ${formatNumber(data.value)}`,
      );
    }
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric<{ value: number }> {
  #collect: (() => number) | undefined;

  /** Creates a gauge; use {@link MetricsRegistry.gauge}. */
  constructor(options: GaugeOptions) {
    super(options);
    this.#collect = options.collect;
    if (this.labelNames.length === 0) this.entry();
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }

  /** Sets the value. */
  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }

  /** Adds `amount` (may be negative). */
  inc(labels: Labels = {}, amount = 1): void {
    this.entry(labels).value += amount;
  }

  /** `gauge`. */
  get type(): string {
    return "gauge";
  }

  /** Appends the sample lines. */
  renderSamples(lines: string[]): void {
    if (this.#collect !== undefined) {
      let value = NaN;
      try {
        value = this.#collect();
      } catch {
        // A failing collector shows as NaN rather than breaking the scrape.
      }
      lines.push(`${this.name} ${formatNumber(value)}`);
      return;
    }
    for (const { values, data } of this.series.values()) {
      lines.push(
        `${this.name}${renderLabels(this.labelNames, values)} ${formatNumber(data.value)}`,
      );
    }
  }
}

/** Counts of observations in cumulative buckets, plus their sum and count. */
export class Histogram extends Metric<{ counts: number[]; sum: number; count: number }> {
  readonly buckets: readonly number[];

  /** Creates a histogram; use {@link MetricsRegistry.histogram}. */
  constructor(options: HistogramOptions) {
    super(options);
    const buckets = [...options.buckets].filter((b) => Number.isFinite(b));
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i] <= buckets[i - 1]) {
        throw new Error(`Buckets of histogram ${options.name} must be strictly ascending.`);
      }
    }
    this.buckets = buckets;
    if (this.labelNames.length === 0) this.entry();
  }

  protected initial(): { counts: number[]; sum: number; count: number } {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  /** Records one observation (non-finite values are ignored). */
  observe(labels: Labels, value: number): void {
    this.#record(this.entry(labels), value);
  }

  /**
   * The series of `labels`, to observe many values without looking it up
   * each time (a hot path: one observation per audio frame).
   *
   * @example
   * ```ts
   * import { MetricsRegistry } from "./metrics.ts";
   * const registry = new MetricsRegistry();
   * const h = registry.histogram({ name: "lag_seconds", help: "Lag.", labelNames: ["side"], buckets: [0.1] });
   * const left = h.labels({ side: "left" });
   * left.observe(0.05);
   * if (h.count({ side: "left" }) !== 1) throw new Error();
   * ```
   */
  labels(labels: Labels): { observe(value: number): void } {
    const data = this.entry(labels);
    return { observe: (value) => this.#record(data, value) };
  }

  /**
   * Counts `value` in the first bucket that holds it (one increment: a hot
   * path); {@link renderSamples} adds them up into Prometheus's cumulative
   * `le` buckets.
   */
  #record(data: { counts: number[]; sum: number; count: number }, value: number): void {
    if (!Number.isFinite(value)) return;
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]) {
        data.counts[i]++;
        break;
      }
    }
    data.sum += value;
    data.count++;
  }

  /** Number of observations for `labels`. */
  count(labels: Labels = {}): number {
    const key = JSON.stringify(this.labelNames.map((name) => labels[name] ?? ""));
    return this.series.get(key)?.data.count ?? 0;
  }

  /** `histogram`. */
  get type(): string {
    return "histogram";
  }

  /** Appends the `_bucket`, `_sum` and `_count` lines. */
  renderSamples(lines: string[]): void {
    for (const { values, data } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += data.counts[i];
        const labels = renderLabels(this.labelNames, values, `le="${formatNumber(bound)}"`);
        lines.push(`${this.name}_bucket${labels} ${cumulative}`);
      });
      const inf = renderLabels(this.labelNames, values, 'le="+Inf"');
      lines.push(`${this.name}_bucket${inf} ${data.count}`);
      const plain = renderLabels(this.labelNames, values);
      lines.push(`${this.name}_sum${plain} ${formatNumber(data.sum)}`);
      lines.push(`${this.name}_count${plain} ${data.count}`);
    }
  }
}

/** A set of metrics rendered together. */
export class MetricsRegistry {
  #metrics = new Map<string, Counter | Gauge | Histogram>();

  #add<M extends Counter | Gauge | Histogram>(metric: M): M {
    if (this.#metrics.has(metric.name)) {
      throw new Error(`Metric ${metric.name} is already registered.`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /** Registers a counter. */
  counter(options: MetricOptions): Counter {
    return this.#add(new Counter(options));
  }

  /** Registers a gauge. */
  gauge(options: GaugeOptions): Gauge {
    return this.#add(new Gauge(options));
  }

  /** Registers a histogram. */
  histogram(options: HistogramOptions): Histogram {
    return this.#add(new Histogram(options));
  }

  /** Every metric in the Prometheus text format, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics.values()) {
      lines.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`);
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      metric.renderSamples(lines);
    }
    return lines.join("\n") + "\n";
  }
}
