/** The shared memory mapper of the runtime this test runs on, and the commands that run a script on each runtime. */
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runtimeSharedMemory } from "../../runtimes/shared/shared_memory.ts";
import type { SharedMemoryMapper } from "../../src/shmem/mapper.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

export function thisRuntimeSharedMemory(): Promise<SharedMemoryMapper> {
  return runtimeSharedMemory();
}

/** How to run a TypeScript script on each runtime, whichever runtime the test itself runs on. */
export function commandsFor(script: string): Record<string, [string, string[]]> {
  return {
    // The machine's Node (20 here) with tsx's loader in the same process (tsx's CLI would start a
    // child of its own), and the deno and bun binaries that npm install brought.
    node: ["node", ["--import", pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href, script]],
    deno: [join(REPO, "node_modules", ".bin", "deno"), ["run", "-A", "--no-prompt", script]],
    bun: [join(REPO, "node_modules", ".bin", "bun"), [script]],
  };
}

export const uniqueSegmentName = (what: string) =>
  `/bgworker-test.${process.pid}.${what}.${Math.random().toString(36).slice(2, 8)}`;
