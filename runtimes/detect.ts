/**
 * Which runtime this process runs on, decided in this one file, and the one
 * door to the runtime leaves (`node/`, `deno/`, `bun/`). Whatever needs the
 * current runtime's own code (the entry point's postmaster, a process's
 * shared memory mapper) loads it through here, so the shared layer never
 * names a leaf and the leaves never name each other.
 *
 * The leaves are loaded with dynamic imports: a process loads its own
 * runtime's leaf only, never the foreign function interfaces of the others
 * (`bun:ffi` does not even resolve outside Bun).
 *
 * @module
 */

import type { SharedMemoryMapper } from "../src/shmem/mapper.ts";

/**
 * A runtime bgworker runs on.
 *
 * @example
 * ```ts
 * import type { RuntimeName } from "./detect.ts";
 * const runtime: RuntimeName = "deno";
 * ```
 */
export type RuntimeName = "node" | "deno" | "bun";

/**
 * The runtime whose globals `scope` holds: this process's runtime when
 * called without an argument.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "./detect.ts";
 * detectRuntime(); // "node" under Node.js
 * detectRuntime({ Bun: {} }); // "bun"
 * ```
 */
export function detectRuntime(scope: object = globalThis): RuntimeName {
  // Deno and Bun also define process.versions.node (for npm compatibility), so
  // their own globals are asked first and Node is what remains.
  if ("Deno" in scope) return "deno";
  if ("Bun" in scope) return "bun";
  return "node";
}

/**
 * What each leaf's `mod.ts` exports: the supervisor API with its runtime's
 * adapter wired in. The three have the same shape; Node's names it.
 *
 * @example
 * ```ts
 * import type { RuntimeModule } from "./detect.ts";
 * declare const leaf: RuntimeModule;
 * const pm = new leaf.Postmaster();
 * ```
 */
export type RuntimeModule = typeof import("./node/mod.ts");

const RUNTIME_MODULES: Record<RuntimeName, () => Promise<RuntimeModule>> = {
  node: () => import("./node/mod.ts"),
  deno: () => import("./deno/mod.ts"),
  bun: () => import("./bun/mod.ts"),
};

/**
 * Load a runtime's leaf module: this process's runtime unless told another.
 *
 * @example
 * ```ts
 * import { importRuntimeModule } from "./detect.ts";
 * const { Postmaster } = await importRuntimeModule();
 * const pm = new Postmaster();
 * ```
 */
export function importRuntimeModule(runtime: RuntimeName = detectRuntime()): Promise<RuntimeModule> {
  return RUNTIME_MODULES[runtime]();
}

const SHARED_MEMORY_MAPPERS: Record<RuntimeName, () => Promise<SharedMemoryMapper>> = {
  node: () => import("./node/shm_mapper.ts").then((m) => m.nodeSharedMemory()),
  deno: () => import("./deno/shm_mapper.ts").then((m) => m.denoSharedMemory()),
  bun: () => import("./bun/shm_mapper.ts").then((m) => m.bunSharedMemory()),
};

/**
 * Load and open a runtime's POSIX shared memory mapper (koffi on Node,
 * `Deno.dlopen` on Deno, `bun:ffi` on Bun): this process's runtime unless
 * told another. A worker asks this at run time, so a Node postmaster's Deno
 * and Bun workers each get their own runtime's mapper.
 *
 * @example
 * ```ts
 * import { importSharedMemoryMapper } from "./detect.ts";
 * const mapper = await importSharedMemoryMapper();
 * const counters = new Int32Array(mapper.attach("/bgworker.42.1", 4096));
 * ```
 */
export function importSharedMemoryMapper(runtime: RuntimeName = detectRuntime()): Promise<SharedMemoryMapper> {
  return SHARED_MEMORY_MAPPERS[runtime]();
}
