/** Prometheus's text format, read back with a real parser from the npm registry, plus the line rules that parser is lenient about. */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One family, as the parser gives it. */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

/**
 * Parse `text`, first checking what the format requires of every line
 * (a HELP and a TYPE before each family's samples, names and label syntax,
 * a number as the value, a newline at the end).
 */
export function parseMetrics(text: string): Map<string, MetricFamily> {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const typed = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      typed.add(type[1]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^\\"\n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/
        .exec(line);
    assert.ok(sample, `a sample line: ${JSON.stringify(line)}`);
    const family = sample[1]!.replace(/_(bucket|sum|count)$/, "");
    assert.ok(typed.has(sample[1]!) || typed.has(family), `a TYPE line before ${sample[1]}`);
  }
  const families = parsePrometheusTextFormat(text) as MetricFamily[];
  return new Map(families.map((family) => [family.name, family]));
}
