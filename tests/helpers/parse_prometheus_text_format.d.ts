/** The one function of the `parse-prometheus-text-format` package, which ships no types. */
declare module "parse-prometheus-text-format" {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
