/**
 * Which spawning facility to use: spawn → first message from the child, for
 * each facility this runtime has, interleaved in one run. Decided the
 * choice written in the README (Runtimes). Run on the runtime to measure:
 *
 *   npx tsx bench/spawn_facilities.ts
 *   deno run -A bench/spawn_facilities.ts
 *   bun run bench/spawn_facilities.ts
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./spawn_child.mjs", import.meta.url));
const RUNS = 25;
const WARM_UP = 3;

const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
const childArgs = deno ? ["run", "-A", CHILD] : [CHILD];

type Facility = () => Promise<number>;

/** node:child_process with the runtime's own IPC slot. */
const childProcessIpc: Facility = () =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, childArgs, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", () => {
      const elapsed = performance.now() - t0;
      child.send({});
      child.once("exit", () => resolve(elapsed));
    });
  });

/** node:child_process with a plain socket on fd 3 that the child takes for its IPC: bgworker's channel. */
const childProcessBoundedChannel: Facility = () =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, childArgs, {
      stdio: ["ignore", "inherit", "inherit", "pipe"],
      env: { ...process.env, NODE_CHANNEL_FD: "3", NODE_CHANNEL_SERIALIZATION_MODE: "json" },
    });
    const channel = child.stdio[3] as Duplex;
    channel.once("data", () => {
      const elapsed = performance.now() - t0;
      channel.write("{}\n");
      child.once("exit", () => resolve(elapsed));
    });
  });

interface BunSpawn {
  spawn(cmd: string[], options: Record<string, unknown>): { send(message: unknown): void };
}

/** Bun.spawn with its JSON IPC. */
const bunSpawnIpc: Facility = () =>
  new Promise((resolve) => {
    const bun = (globalThis as unknown as { Bun: BunSpawn }).Bun;
    const t0 = performance.now();
    let elapsed = 0;
    const child = bun.spawn([process.execPath, CHILD], {
      stdio: ["ignore", "inherit", "inherit"],
      serialization: "json",
      ipc() {
        elapsed = performance.now() - t0;
        child.send({});
      },
      onExit: () => resolve(elapsed),
    });
  });

const facilities: Record<string, Facility> = {
  "node:child_process, runtime IPC": childProcessIpc,
  "node:child_process, bounded channel (bgworker)": childProcessBoundedChannel,
};
if ("Bun" in globalThis) facilities["Bun.spawn, IPC"] = bunSpawnIpc;

const samples = new Map<string, number[]>(Object.keys(facilities).map((name) => [name, []]));
for (let run = 0; run < RUNS; run++) {
  for (const [name, facility] of Object.entries(facilities)) {
    const elapsed = await facility();
    if (run >= WARM_UP) samples.get(name)!.push(elapsed);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
console.log(`spawn → first message, median of ${RUNS - WARM_UP} after ${WARM_UP} warm-up runs`);
console.table([...samples].map(([facility, values]) => ({ facility, "median ms": Number(median(values).toFixed(2)) })));
