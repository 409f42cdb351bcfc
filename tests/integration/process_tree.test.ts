import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readdirSync } from "node:fs";
import process from "node:process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BGW_NEVER_RESTART, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../../mod.ts";
import { fixture, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { firstLine, isAlive, spawnSameRuntime } from "../helpers/same_runtime.ts";

const SCRIPT = fileURLToPath(new URL("../fixtures/tree_postmaster.ts", import.meta.url));
const TREE = new URL("../fixtures/tree_workers.ts", import.meta.url).href;
// Process groups, /proc and /dev/shm are what these tests are about: Linux's.
const LINUX_ONLY = { skip: process.platform === "linux" ? false : "process groups are read from Linux's /proc" };

/** Wait until none of `pids` is alive, within `ms` (a bound for a hung test, not a timing target: see bench/). */
async function allGone(pids: number[], what: string, ms = 10_000): Promise<void> {
  const since = Date.now();
  while (pids.some(isAlive)) {
    if (Date.now() - since > ms) assert.fail(`${what}: still alive after ${ms} ms: ${pids.filter(isAlive).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** process.kill, not child.kill: Deno's child.kill misreports how the child ended. */
function signal(child: ChildProcess, name: NodeJS.Signals): void {
  process.kill(child.pid!, name);
}

const segmentsOf = (pid: number) => readdirSync("/dev/shm").filter((file) => file.startsWith(`bgworker.${pid}.`));

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

interface Tree {
  postmaster: number;
  workers: number[];
  descendants: number[];
}

const started = new Set<ChildProcess>();
// A failed assertion must not leave a postmaster behind to hold the test process open.
after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) signal(child, "SIGKILL");
});

async function startTree(kind: "busy" | "ignoring", signals: "handle" | "own" | "off") {
  const child = spawnSameRuntime(SCRIPT, [kind, signals]);
  started.add(child);
  const exited = exitOf(child);
  const tree = JSON.parse(await firstLine(child)) as Tree;
  assert.ok([...tree.workers, ...tree.descendants].every(isAlive), "everything runs before the test acts");
  return { child, exited, tree };
}

test(
  "postmaster SIGKILL: a worker that never yields and a worker's descendant are gone too, and no segment is left named",
  LINUX_ONLY,
  async () => {
    const { child, tree } = await startTree("busy", "handle");
    assert.deepEqual(segmentsOf(tree.postmaster), [], "the segment's name is unlinked as soon as it is made");
    signal(child, "SIGKILL");
    await allGone([...tree.workers, ...tree.descendants], "after the postmaster's SIGKILL");
    assert.deepEqual(segmentsOf(tree.postmaster), []);
  },
);

test(
  "handleSignals: SIGINT is a fast stop, then the process dies of SIGINT, with nothing left",
  LINUX_ONLY,
  async () => {
    const { child, exited, tree } = await startTree("busy", "handle");
    signal(child, "SIGINT");
    assert.deepEqual(await exited, { code: null, signal: "SIGINT" });
    await allGone([...tree.workers, ...tree.descendants], "after SIGINT");
  },
);

test("handleSignals: a second SIGTERM during a fast stop escalates to immediate", LINUX_ONLY, async () => {
  const { child, exited, tree } = await startTree("ignoring", "handle");
  let out = "";
  child.stdout!.on("data", (chunk) => out += chunk);
  signal(child, "SIGTERM");
  const since = Date.now();
  while (!out.includes("fast stop")) {
    if (Date.now() - since > 10_000) assert.fail("the postmaster never began its fast stop");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // The stubborn worker ignores the fast stop's SIGTERM and its stop timeout is a minute: only escalation ends it.
  assert.ok(isAlive(tree.workers[0]!), "the worker that ignores SIGTERM is still there");
  signal(child, "SIGTERM");
  assert.deepEqual(await exited, { code: null, signal: "SIGTERM" });
  await allGone([...tree.workers, ...tree.descendants], "after the second SIGTERM");
});

test(
  "handleSignals with the application's own listener: the stop runs, the application keeps control",
  LINUX_ONLY,
  async () => {
    const { child, exited, tree } = await startTree("busy", "own");
    let out = "";
    child.stdout!.on("data", (chunk) => out += chunk);
    signal(child, "SIGINT");
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.match(out, /exited normally/);
    await allGone([...tree.workers, ...tree.descendants], "after SIGINT");
  },
);

test(
  "handleSignals: false installs nothing: SIGINT ends the postmaster at once, and its workers follow",
  LINUX_ONLY,
  async () => {
    const { child, exited, tree } = await startTree("busy", "off");
    signal(child, "SIGINT");
    assert.deepEqual(await exited, { code: null, signal: "SIGINT" });
    await allGone([...tree.workers, ...tree.descendants], "after the postmaster died of SIGINT");
  },
);

test("a worker's descendants go with it: after exit 0, terminate, a crash and stop()", LINUX_ONLY, async () => {
  const { pm, logs, notes, until } = realPostmaster();
  await pm.start();
  const descendantsSoFar = () => logs.flatMap((l) => /descendant (\d+)$/.exec(l)?.[1] ?? []).map(Number);
  const sleeper = (name: string, then: number, flags = 0) =>
    pm.registerDynamicBackgroundWorker({
      ...fixture(name, "spawnSleeper", {
        bgw_library_name: TREE,
        bgw_main_arg: then,
        bgw_flags: flags,
        bgw_restart_time: BGW_NEVER_RESTART,
      }),
      bgw_notify_pid: pm.pid,
    })!;
  const stopped = (h: ReturnType<typeof sleeper>) => () =>
    notes.some((n) => sameHandle(n.handle, h) && n.status === BGWH_STOPPED);
  try {
    for (
      const [name, then, flags, act] of [
        ["exits 0", 0, 0, null],
        ["terminated", 1, 0, "terminate"],
        ["crashes", 3, BGWORKER_SHMEM_ACCESS, null],
      ] as const
    ) {
      const before = descendantsSoFar().length;
      const handle = sleeper(name, then, flags);
      await until(`${name}: its descendant`, () => descendantsSoFar().length > before);
      const descendant = descendantsSoFar().at(-1)!;
      if (act === "terminate") pm.terminateBackgroundWorker(handle);
      await until(`${name}: stopped`, stopped(handle));
      await allGone([descendant], `the descendant of the worker that ${name}`);
    }
    const before = descendantsSoFar().length;
    sleeper("at stop()", 1);
    await until("its descendant", () => descendantsSoFar().length > before);
    await pm.stop("fast");
    await allGone([descendantsSoFar().at(-1)!], "the descendant after stop()");
  } finally {
    await pm.stop("immediate");
  }
});
