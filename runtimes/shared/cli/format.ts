/**
 * Plain-text tables and the short units `bgworker ps` prints: durations,
 * memory, CPU time. No colour and no terminal width: the output reads the
 * same in a pipe, a log and a terminal.
 *
 * @module
 */

/** What an empty cell shows. */
export const NONE = "-";

/**
 * Columns padded to their widest cell, two spaces apart, no trailing
 * spaces, one line per row after the header.
 *
 * @example
 * ```ts
 * import { formatTable } from "./format.ts";
 * console.log(formatTable(["name", "pid"], [["importer", "4242"], ["mailer", "-"]]));
 * // name      pid
 * // importer  4242
 * // mailer    -
 * ```
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(width(title), ...rows.map((row) => width(row[column] ?? ""))));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell + " ".repeat(widths[column]! - width(cell))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * A duration as one or two units, pm2 style: `45s`, `12m`, `3h 5m`, `2d 4h`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./format.ts";
 * formatDuration(3_723_000); // "1h 2m"
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return NONE;
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor(s / 60) % 60 ? ` ${Math.floor(s / 60) % 60}m` : ""}`;
  return `${Math.floor(s / 86400)}d${Math.floor(s / 3600) % 24 ? ` ${Math.floor(s / 3600) % 24}h` : ""}`;
}

/**
 * Bytes in binary units, one decimal from MiB up.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 * formatBytes(54_840_320); // "52.3 MiB"
 * ```
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return NONE;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${Math.round(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * CPU time used: seconds with two decimals under a minute, then as a
 * duration.
 *
 * @example
 * ```ts
 * import { formatCpu } from "./format.ts";
 * formatCpu(0.4213); // "0.42s"
 * ```
 */
export function formatCpu(seconds: number | null | undefined): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return NONE;
  return seconds < 60 ? `${seconds.toFixed(2)}s` : formatDuration(seconds * 1000);
}

/**
 * How a worker's last process ended, and how long ago: `code 1, 5s ago`,
 * `SIGTERM, 2m ago`.
 *
 * @example
 * ```ts
 * import { formatLastExit } from "./format.ts";
 * formatLastExit({ code: null, signal: "SIGKILL", at: Date.now() - 90_000 }, Date.now()); // "SIGKILL, 1m 30s ago"
 * ```
 */
export function formatLastExit(
  lastExit: { code?: unknown; signal?: unknown; at?: unknown } | null | undefined,
  now: number,
): string {
  if (typeof lastExit !== "object" || lastExit === null) return NONE;
  const how = typeof lastExit.signal === "string"
    ? lastExit.signal
    : typeof lastExit.code === "number"
    ? `code ${lastExit.code}`
    : "exited";
  return typeof lastExit.at === "number" ? `${how}, ${formatDuration(now - lastExit.at)} ago` : how;
}

/** Display width: code points, so a name in another script lines up as well as a monospace font allows. */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * A value from a socket as one table cell: a string with its control
 * characters replaced, a finite number, or `-` for anything else.
 *
 * @example
 * ```ts
 * import { cellText } from "./format.ts";
 * cellText("evil\x1b[2J"); // "evil?[2J"
 * ```
 */
export function cellText(value: unknown): string {
  // A name with a newline or an escape sequence must not break the table or drive the terminal.
  // deno-lint-ignore no-control-regex
  if (typeof value === "string") return value === "" ? NONE : value.replace(/[\x00-\x1f\x7f]/g, "?");
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return NONE;
}
