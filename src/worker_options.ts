/**
 * Per-worker options beyond PostgreSQL's struct: the second argument of
 * `registerBackgroundWorker` and `registerDynamicBackgroundWorker`, on the
 * postmaster's side and a worker's, and the postmaster's `workerDefaults`.
 * Checked as strictly as the struct: each field read once, an unknown name
 * or a wrong type is a typed error naming the worker and the field.
 *
 * @module
 */

import { BackgroundWorkerError } from "./errors.ts";

/**
 * How a worker that keeps failing is restarted. Without it, PostgreSQL's
 * rule: every `bgw_restart_time` seconds, forever.
 *
 * - `backoff`: the n-th consecutive restart waits `bgw_restart_time ×
 *   factor^(n-1)` seconds, at most `maxSeconds`; the count starts again
 *   once the worker has run `resetAfterSeconds`.
 * - `intensity`: a worker that would restart more than `maxRestarts` times
 *   within `withinSeconds` is not restarted: it is `failed` (Erlang/OTP's
 *   restart intensity, systemd's start limit).
 *
 * @example
 * ```ts
 * import type { RestartPolicy } from "bgworker";
 * const policy: RestartPolicy = {
 *   backoff: { factor: 2, maxSeconds: 300, resetAfterSeconds: 60 },
 *   intensity: { maxRestarts: 5, withinSeconds: 60 },
 * };
 * ```
 */
export interface RestartPolicy {
  /** Growing waits between consecutive restarts. */
  backoff?: { factor: number; maxSeconds: number; resetAfterSeconds: number };
  /** A bound on restarts in a window, past which the worker is failed. */
  intensity?: { maxRestarts: number; withinSeconds: number };
}

/**
 * Options of one worker.
 *
 * @example
 * ```ts
 * import type { WorkerOptions } from "bgworker";
 * const options: WorkerOptions = { restart: { intensity: { maxRestarts: 3, withinSeconds: 10 } }, memoryLimitMb: 512 };
 * ```
 */
export interface WorkerOptions {
  /** Restart backoff and intensity; see {@link RestartPolicy}. */
  restart?: RestartPolicy;
  /** Added to the environment the worker would get. */
  env?: Record<string, string>;
  /** The worker's working directory (must exist); relative library paths still resolve against the postmaster's. */
  cwd?: string;
  /**
   * A memory bound in MiB (a positive whole number): the runtime's heap limit is set to it when the worker
   * starts, and a worker whose resident memory passes it is stopped and restarted as after exit code 1.
   */
  memoryLimitMb?: number;
}

const OPTION_FIELDS = ["restart", "env", "cwd", "memoryLimitMb"];

/**
 * Check worker options (each field read once) and return a frozen copy.
 *
 * @example
 * ```ts
 * import { checkWorkerOptions } from "./worker_options.ts";
 * const checked = checkWorkerOptions({ cwd: "/srv/jobs" }, "importer");
 * ```
 */
export function checkWorkerOptions(options: unknown, worker: string): Readonly<WorkerOptions> {
  if (options === undefined) return Object.freeze({});
  const fail = (field: string, message: string): never => {
    throw new BackgroundWorkerError(message, { worker, field, code: "invalid_parameter_value" });
  };
  const record = asRecord(options, "options", fail);
  const snapshot: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (!OPTION_FIELDS.includes(key)) {
      fail(
        key.slice(0, 80),
        `unknown worker option "${key.slice(0, 80)}"; the options are ${OPTION_FIELDS.join(", ")}`,
      );
    }
    snapshot[key] = record[key];
  }
  const checked: WorkerOptions = {};
  if (snapshot.restart !== undefined) checked.restart = checkRestart(snapshot.restart, fail);
  if (snapshot.env !== undefined) {
    const env = asRecord(snapshot.env, "env", fail);
    const copy: Record<string, string> = {};
    for (const key of Object.keys(env)) {
      const value = env[key];
      if (typeof value !== "string" || key === "" || key.includes("=") || key.includes("\0") || value.includes("\0")) {
        fail(`env.${key.slice(0, 80)}`, `env.${key.slice(0, 80)} must be a string (names without "=" or NUL)`);
      }
      copy[key] = value as string;
    }
    checked.env = Object.freeze(copy);
  }
  if (snapshot.cwd !== undefined) {
    if (typeof snapshot.cwd !== "string" || snapshot.cwd === "" || snapshot.cwd.includes("\0")) {
      fail("cwd", "cwd must be a non-empty path");
    }
    checked.cwd = snapshot.cwd as string;
  }
  if (snapshot.memoryLimitMb !== undefined) {
    const limit = snapshot.memoryLimitMb;
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
      fail("memoryLimitMb", "memoryLimitMb must be a positive whole number of MiB");
    }
    checked.memoryLimitMb = limit as number;
  }
  return Object.freeze(checked);
}

function checkRestart(value: unknown, fail: (field: string, message: string) => never): RestartPolicy {
  const restart = asRecord(value, "restart", fail);
  const policy: RestartPolicy = {};
  for (const key of Object.keys(restart)) {
    if (key !== "backoff" && key !== "intensity") {
      fail(`restart.${key.slice(0, 80)}`, `unknown restart option "${key.slice(0, 80)}"; use backoff or intensity`);
    }
  }
  const { backoff, intensity } = restart;
  if (backoff !== undefined) {
    const b = fields(backoff, "restart.backoff", ["factor", "maxSeconds", "resetAfterSeconds"], fail);
    if (b.factor! < 1) fail("restart.backoff.factor", "restart.backoff.factor must be at least 1");
    policy.backoff = Object.freeze({
      factor: b.factor!,
      maxSeconds: b.maxSeconds!,
      resetAfterSeconds: b.resetAfterSeconds!,
    });
  }
  if (intensity !== undefined) {
    const i = fields(intensity, "restart.intensity", ["maxRestarts", "withinSeconds"], fail);
    if (!Number.isInteger(i.maxRestarts)) {
      fail("restart.intensity.maxRestarts", "restart.intensity.maxRestarts must be an integer");
    }
    policy.intensity = Object.freeze({ maxRestarts: i.maxRestarts!, withinSeconds: i.withinSeconds! });
  }
  return Object.freeze(policy);
}

/** Exactly these fields, each a finite non-negative number, read once. */
function fields(
  value: unknown,
  name: string,
  names: readonly string[],
  fail: (field: string, message: string) => never,
): Record<string, number> {
  const record = asRecord(value, name, fail);
  const out: Record<string, number> = {};
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) {
      fail(`${name}.${key.slice(0, 80)}`, `unknown field "${key.slice(0, 80)}" in ${name}; it has ${names.join(", ")}`);
    }
  }
  for (const key of names) {
    const v = record[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      fail(`${name}.${key}`, `${name}.${key} must be a non-negative number`);
    }
    out[key] = v as number;
  }
  return out;
}

function asRecord(
  value: unknown,
  name: string,
  fail: (field: string, message: string) => never,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(name, `${name} must be an object`);
  return value as Record<string, unknown>;
}

/**
 * The wait before the next restart and whether it may happen, from the
 * policy and the worker's recent history. Pure.
 *
 * @example
 * ```ts
 * import { nextRestart } from "./worker_options.ts";
 * nextRestart(10, { backoff: { factor: 2, maxSeconds: 60, resetAfterSeconds: 30 } }, { consecutive: 3, recent: [] }, 0);
 * // { delaySeconds: 40, allowed: true }
 * ```
 */
export function nextRestart(
  restartSeconds: number,
  policy: RestartPolicy | undefined,
  history: { consecutive: number; recent: readonly number[] },
  now: number,
): { delaySeconds: number; allowed: boolean; restartsInWindow: number } {
  const backoff = policy?.backoff;
  const n = Math.max(1, history.consecutive);
  const delaySeconds = backoff
    ? Math.min(restartSeconds * backoff.factor ** (n - 1), backoff.maxSeconds)
    : restartSeconds;
  const intensity = policy?.intensity;
  if (!intensity) return { delaySeconds, allowed: true, restartsInWindow: history.recent.length };
  const windowStart = now - intensity.withinSeconds * 1000;
  const restartsInWindow = history.recent.filter((at) => at > windowStart).length;
  return { delaySeconds, allowed: restartsInWindow < intensity.maxRestarts, restartsInWindow };
}
