import assert from "node:assert/strict";
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../src/observability/metrics.ts";
import { countOf, parseStrict, sampleOf, valueOf } from "./support/prometheus.ts";

Deno.test("counters, gauges and histograms render as valid Prometheus text", () => {
  const r = new MetricsRegistry();
  const calls = r.counter({ name: "t_calls_total", help: "Calls.", labelNames: ["outcome"] });
  const active = r.gauge({ name: "t_active", help: "Active." });
  const latency = r.histogram({
    name: "t_latency_seconds",
    help: "Latency.",
    labelNames: ["direction"],
    buckets: [0.1, 0.5, 1, 10],
  });
  r.gauge({ name: "t_collected", help: "From a callback.", collect: () => 7 });
  calls.inc({ outcome: "caller_hung_up" });
  calls.inc({ outcome: "caller_hung_up" }, 2);
  calls.inc({ outcome: "openai_error" });
  calls.inc({ outcome: "openai_error" }, -5); // ignored: counters only go up
  active.inc();
  active.inc();
  active.inc({}, -1);
  for (const v of [0.05, 0.3, 0.3, 2, 20]) latency.observe({ direction: "in" }, v);
  latency.observe({ direction: "in" }, NaN); // ignored

  const text = r.render();
  const families = parseStrict(text);
  assert.equal(families.get("t_calls_total")?.type, "COUNTER");
  assert.equal(families.get("t_calls_total")?.help, "Calls.");
  assert.equal(valueOf(families, "t_calls_total", { outcome: "caller_hung_up" }), 3);
  assert.equal(valueOf(families, "t_calls_total", { outcome: "openai_error" }), 1);
  assert.equal(valueOf(families, "t_active"), 1);
  assert.equal(valueOf(families, "t_collected"), 7);
  const h = sampleOf(families, "t_latency_seconds", { direction: "in" });
  assert.deepEqual(h?.buckets, { "0.1": "1", "0.5": "3", "1": "3", "10": "4", "+Inf": "5" });
  assert.equal(countOf(families, "t_latency_seconds", { direction: "in" }), 5);
  assert.equal(Number(h?.sum), 22.65);
  assert.match(PROMETHEUS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
});

Deno.test("label values and help text are escaped", () => {
  const r = new MetricsRegistry();
  const c = r.counter({
    name: "t_errors_total",
    help: 'Errors \\ with\nnewline "q".',
    labelNames: ["code"],
  });
  c.inc({ code: 'a"b\\c\nd' });
  const text = r.render();
  assert.ok(text.includes('t_errors_total{code="a\\"b\\\\c\\nd"} 1'), text);
  const families = parseStrict(text);
  assert.equal(valueOf(families, "t_errors_total", { code: 'a"b\\c\nd' }), 1);
});

Deno.test("a label with too many values folds into 'other' instead of growing without bound", () => {
  const r = new MetricsRegistry();
  const c = r.counter({
    name: "t_codes_total",
    help: "Codes.",
    labelNames: ["code"],
    maxSeries: 3,
  });
  for (let i = 0; i < 10; i++) c.inc({ code: `code_${i}` });
  const families = parseStrict(r.render());
  assert.equal(families.get("t_codes_total")?.metrics.length, 4);
  assert.equal(valueOf(families, "t_codes_total", { code: "other" }), 7);
});

Deno.test("invalid metric names, label names, buckets and duplicates are refused", () => {
  const r = new MetricsRegistry();
  assert.throws(() => r.counter({ name: "bad-name", help: "x" }), /Metric name "bad-name"/);
  assert.throws(() => r.counter({ name: "ok", help: "x", labelNames: ["le"] }), /Label name "le"/);
  assert.throws(
    () => r.histogram({ name: "h", help: "x", buckets: [1, 1] }),
    /strictly ascending/,
  );
  r.counter({ name: "dup", help: "x" });
  assert.throws(() => r.counter({ name: "dup", help: "x" }), /already registered/);
});

Deno.test("the strict exposition check rejects malformed text the npm parser would accept", () => {
  assert.throws(() => parseStrict('x{a="b} 1\n'), /Not a valid exposition line/);
  assert.throws(() => parseStrict("# HELP x y\n# TYPE x counter\nx one\n"), /Not a valid/);
  assert.throws(() => parseStrict("x 1\n"), /before HELP/);
  assert.throws(
    () => parseStrict('# HELP h y\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_count 2\n'),
    /\+Inf/,
  );
});
