/**
 * A worker's report to its test: the test puts a file path in `bgw_extra`,
 * the worker writes one JSON value there before it exits, and the test reads
 * it once the worker's exit is known. No polling, no shared state.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ReportFile {
  path: string;
  /** The path as `bgw_extra` bytes. */
  extra: Uint8Array;
  read<T = Record<string, unknown>>(): T;
}

export function reportFile(): ReportFile {
  const path = join(mkdtempSync(join(tmpdir(), "bgw-report-")), "report.json");
  return {
    path,
    extra: new TextEncoder().encode(path),
    read: <T>() => JSON.parse(readFileSync(path, "utf8")) as T,
  };
}
