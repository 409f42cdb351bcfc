/** The shared memory mapper of the runtime this test runs on, and the commands that run a script on each runtime. */
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { SharedMemoryMapper } from "../../src/shmem/mapper.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

export function thisRuntimeSharedMemory(): Promise<SharedMemoryMapper> {
  if ("Deno" in globalThis) return import("../../runtimes/deno/shm_mapper.ts").then((m) => m.denoSharedMemory());
  if ("Bun" in globalThis) return import("../../runtimes/bun/shm_mapper.ts").then((m) => m.bunSharedMemory());
  return import("../../runtimes/node/shm_mapper.ts").then((m) => m.nodeSharedMemory());
}

/** How to run a TypeScript script on each runtime, whichever runtime the test itself runs on. */
export function commandsFor(script: string): Record<string, [string, string[]]> {
  return {
    // The machine's Node (20 here) through tsx, the deno and bun binaries that npm install brought.
    node: ["node", [join(REPO, "node_modules", "tsx", "dist", "cli.mjs"), script]],
    deno: [join(REPO, "node_modules", ".bin", "deno"), ["run", "-A", script]],
    bun: [join(REPO, "node_modules", ".bin", "bun"), [script]],
  };
}

export const uniqueSegmentName = (what: string) => `/bgworker-test.${process.pid}.${what}.${Math.random().toString(36).slice(2, 8)}`;
