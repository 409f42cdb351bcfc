// What the benchmark scripts run by run.mjs share (suite.mjs, memory_case.mjs,
// start_throughput.mjs): which runtime this is, the raw child of the floors,
// a postmaster whose log lines can be awaited, and BENCH_ONLY's steps.
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { BGW_NEVER_RESTART, Postmaster } from "../dist/mod.js";
import { now, progress } from "./stats.mjs";

export const onDeno = "Deno" in globalThis;
export const onBun = "Bun" in globalThis;
export const runtime = onDeno ? "deno" : onBun ? "bun" : `node${process.versions.node.split(".")[0]}`;
export const version = onDeno ? Deno.version.deno : onBun ? Bun.version : process.versions.node;
export const WORKERS = new URL("./workers.mjs", import.meta.url).href;

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
/** The command line that runs a script on this runtime. */
export const scriptArgs = (
  script,
  ...args
) => (onDeno ? ["run", "-A", here(script), ...args] : [here(script), ...args]);

/** A dynamic worker of bench/workers.mjs (or of `extra.bgw_library_name`). */
export const worker = (name, fn, extra = {}) => ({
  bgw_name: name,
  bgw_flags: 0,
  bgw_start_time: 0,
  bgw_restart_time: BGW_NEVER_RESTART,
  bgw_library_name: WORKERS,
  bgw_function_name: fn,
  ...extra,
});

export const event = (emitter, name) => new Promise((resolve) => emitter.once(name, (value) => resolve(value)));

/** The raw child of the floors (bench/floor_child.mjs): this runtime with its own IPC, no bgworker at all. */
export function rawChild(mode) {
  return spawn(process.execPath, scriptArgs("floor_child.mjs", mode), {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/**
 * A postmaster whose log lines can be awaited: `until(pick, from)` resolves
 * with the first non-undefined `pick(line)` among the lines from index `from` on.
 */
export function benchPostmaster(options = {}) {
  const lines = [];
  const waits = new Set();
  const pm = new Postmaster({
    ...options,
    logger: (level, message) => {
      const line = { level, message, at: now() };
      lines.push(line);
      for (const wait of [...waits]) wait(line);
    },
  });
  const until = (pick, from = 0) =>
    new Promise((resolve) => {
      for (const line of lines.slice(from)) {
        const value = pick(line);
        if (value !== undefined) return resolve(value);
      }
      const wait = (line) => {
        const value = pick(line);
        if (value === undefined) return;
        waits.delete(wait);
        resolve(value);
      };
      waits.add(wait);
    });
  return { pm, lines, until };
}

/**
 * The result object of a script, and `step(name, measure)`, which stores
 * `await measure()` under `name` unless BENCH_ONLY=name,name leaves it out
 * (to work on some figures; run.mjs's tables need them all).
 */
export function steps(extra = {}) {
  const results = { runtime, version, ...extra };
  const only = process.env.BENCH_ONLY?.split(",");
  const step = async (name, measure) => {
    if (only && !only.includes(name)) return;
    progress(`${runtime}: ${name}`);
    results[name] = await measure();
  };
  return { results, step };
}
