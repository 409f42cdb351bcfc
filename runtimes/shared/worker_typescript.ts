/**
 * The TypeScript path of a worker process on Node, decided in the process
 * itself, for a spare does not know its worker when it boots:
 *
 * - A spare whose command expects a TypeScript worker (see
 *   runtimes/node/command.ts) warms Node's type stripper while it waits:
 *   its command sets {@link WARM_TYPESCRIPT_ENV}, which this removes from
 *   the environment before any worker code runs, and which adds
 *   typescript_warmup.ts to what the spare imports once booted.
 * - On a Node that cannot run TypeScript itself (before 22.18) and started
 *   without tsx, tsx is loaded when a TypeScript module is imported for the
 *   first time: a spare spawned lean (without tsx it boots on a quarter of
 *   the CPU) can still be given a TypeScript worker, which then waits for
 *   tsx to load (90 ms and more), still less than a cold start with tsx
 *   (measured 0.55-0.95 of it). A worker whose TypeScript is expected gets a
 *   spare with tsx loaded ahead (see runtimes/node/command.ts).
 *
 * Deno and Bun compile TypeScript natively: nothing here applies to them.
 *
 * @module
 */

import process from "node:process";
import type { WorkerPort } from "../../src/worker/port.ts";
import { isTypeScriptUrl } from "../../src/typescript_url.ts";
import { detectRuntime } from "../detect.ts";
import { WARM_TYPESCRIPT_ENV } from "./worker_command.ts";

/**
 * The modules a spare imports once booted for its TypeScript path, given
 * the URL of the worker entry (next to which the warm-up module lives, as
 * `.ts` in the sources and `.js` in `dist/`): the warm-up when the command
 * asked for it, else none. The variable is removed either way, so the
 * worker's code and what it spawns never see it.
 *
 * @example
 * ```ts
 * import { typeScriptPreload } from "./worker_typescript.ts";
 * const preload = typeScriptPreload(import.meta.url, { BGWORKER_WARM_TYPESCRIPT: "1" });
 * // [".../typescript_warmup.ts"]
 * ```
 */
export function typeScriptPreload(
  entryUrl: string,
  env: Record<string, string | undefined> = process.env,
): string[] {
  // Only Node's commands set it, and reading the environment needs a permission on Deno.
  if (detectRuntime() !== "node" || env[WARM_TYPESCRIPT_ENV] === undefined) return [];
  const asked = env[WARM_TYPESCRIPT_ENV] === "1";
  delete env[WARM_TYPESCRIPT_ENV];
  const extension = entryUrl.replace(/[?#].*$/s, "").endsWith(".ts") ? ".ts" : ".js";
  return asked ? [new URL(`./typescript_warmup${extension}`, entryUrl).href] : [];
}

/**
 * What decides whether tsx must be loaded on demand: this process's Node.
 *
 * @example
 * ```ts
 * import type { NodeTypeScriptSupport } from "./worker_typescript.ts";
 * const node20: NodeTypeScriptSupport = { features: {}, execArgv: [], loadTsx: () => Promise.resolve() };
 * ```
 */
export interface NodeTypeScriptSupport {
  /** `process.features.typescript`: "strip" or "transform" where Node runs TypeScript itself. */
  features: { typescript?: unknown };
  /** `process.execArgv`: tsx among the loaders means it is loaded already. */
  execArgv: readonly string[];
  /** Load tsx's hooks; rejects when tsx is not installed. */
  loadTsx(): Promise<unknown>;
}

const thisNode: NodeTypeScriptSupport = {
  features: process.features as { typescript?: unknown },
  execArgv: process.execArgv,
  // Resolved from bgworker's own place, as runtimes/node/command.ts resolves the tsx it gives cold starts.
  loadTsx: async () => await import(import.meta.resolve("tsx")),
};

/**
 * `port`, or on a Node that needs tsx for TypeScript and has not loaded it,
 * a port whose `importModule` loads tsx (once) before a TypeScript module.
 * Without tsx installed the import goes ahead and fails as it would have.
 *
 * @example
 * ```ts
 * import { createProcessWorkerPort } from "./worker_port.ts";
 * import { withTypeScriptLoader } from "./worker_typescript.ts";
 * const port = withTypeScriptLoader(createProcessWorkerPort());
 * ```
 */
export function withTypeScriptLoader(
  port: WorkerPort,
  node: NodeTypeScriptSupport | null = detectRuntime() === "node" ? thisNode : null,
): WorkerPort {
  if (!node || node.features.typescript || node.execArgv.some((arg) => arg.includes("tsx"))) return port;
  let tsx: Promise<unknown> | null = null;
  const importModule = async (url: string) => {
    if (isTypeScriptUrl(url)) await (tsx ??= node.loadTsx().catch(() => {}));
    return port.importModule(url);
  };
  // Everything else is the port's own, looked up on it (a getter included).
  return Object.create(port, { importModule: { value: importModule } }) as WorkerPort;
}
