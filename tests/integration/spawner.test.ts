/**
 * Spawns that do not grow with the application: on Node, whose spawn forks
 * (copying the page tables of all the application's Buffers), workers are
 * spawned by a small process of the same runtime, the spawner; on Deno, by
 * the postmaster with posix_spawn (no `detached`, no descriptor beyond
 * stdio: `setsid` and a socket channel instead); on Bun, whose spawn uses
 * vfork, by the postmaster as it always did. Real processes, every runtime.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { type BackgroundWorkerHandle, BGWH_STARTED, BGWH_STOPPED } from "../../mod.ts";
import { Spawner } from "../../runtimes/shared/spawner/spawner.ts";
import { SPAWNER_SCRIPT } from "../../runtimes/shared/spawner/spawner_script.ts";
import { fixture, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { commandLineOf, parentOf } from "../helpers/server_processes.ts";
import { isAlive, spawnSameRuntime } from "../helpers/same_runtime.ts";
import { readdirSync, readFileSync } from "node:fs";

const SPAWNER_WORKERS = new URL("../fixtures/spawner_workers.ts", import.meta.url).href;
const DIES_DURING_SPAWN = new URL("../fixtures/dies_during_spawn.ts", import.meta.url).pathname;

/** Live processes whose environment holds this exact variable. */
function processesMarked(mark: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "utf8").split("\0").includes(mark) && isAlive(Number(name))) {
        found.push(Number(name));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
const onBun = "Bun" in globalThis;
const onDeno = "Deno" in globalThis;
// Only Node's postmaster spawns through a spawner: Bun's spawn does not copy the application's memory (vfork), and
// Deno's IPC passes descriptors unreliably under load (see runtimes/deno/launch.ts), so a Deno postmaster spawns
// with posix_spawn over a socket channel. The Spawner itself runs on all.
const withSpawner = !onBun && !onDeno;

/** How this runtime runs the spawner's script (Bun, which has no spawner of its own, runs it too). */
function spawnerCommand() {
  if (onDeno) {
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno;
    return { execPath: deno.execPath(), args: ["eval", "--no-config", SPAWNER_SCRIPT] };
  }
  return {
    execPath: process.execPath,
    args: onBun ? ["-e", SPAWNER_SCRIPT] : ["--input-type=module", "-e", SPAWNER_SCRIPT],
  };
}

test("the spawner: Node workers are its children, and it is the postmaster's; Deno's and Bun's are the postmaster's own", async () => {
  const { pm, notes, until } = realPostmaster();
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(fixture("parented", "napper", { bgw_notify_pid: pm.pid }))!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
    const parent = parentOf(pid!);
    if (!withSpawner) {
      assert.equal(parent, process.pid, "on Deno and Bun the postmaster spawns its workers itself");
    } else {
      assert.notEqual(parent, process.pid, "the worker's parent is the spawner");
      assert.equal(parentOf(parent!), process.pid, "the spawner is the postmaster's child");
      assert.match(commandLineOf(parent!), /^bgworker: spawner/);
    }
    await terminateAndAwait(pm, handle, notes, until);
  } finally {
    await pm.stop("fast");
  }
});

test("the spawner: a worker that signals its parent reaches the postmaster; stop signals stop at the spawner", async () => {
  const { pm, logs, until, recheck } = realPostmaster();
  let heard = 0;
  // The signal can come after the worker's last log line: check the wait again when it does.
  const listener = () => {
    heard++;
    recheck();
  };
  process.on("SIGHUP", listener);
  await pm.start();
  try {
    pm.registerDynamicBackgroundWorker(
      fixture("signals its parent", "signalsParent", { bgw_library_name: SPAWNER_WORKERS }),
    );
    await until("the postmaster to get SIGHUP", () => heard > 0);
    await until("the worker to exit", () => logs.some((l) => l.includes("signals its parent") && l.includes("exit")));
    assert.equal(heard, 1);
    if (!withSpawner) return; // Deno's and Bun's workers are the postmaster's own children: no spawner to stop
    // A stop of the whole process group (systemd's default) gives the postmaster its own SIGTERM: the spawner
    // must neither pass it on (a second one would make the stop immediate) nor die of it.
    const handle = pm.registerDynamicBackgroundWorker(fixture("after", "napper", { bgw_notify_pid: pm.pid }))!;
    const spawner = parentOf((await pm.waitForBackgroundWorkerStartup(handle)).pid!)!;
    let stopSignals = 0;
    const stopListener = () => stopSignals++;
    process.on("SIGTERM", stopListener);
    try {
      process.kill(spawner, "SIGTERM");
      process.kill(spawner, "SIGINT");
      const next = pm.registerDynamicBackgroundWorker(fixture("next", "napper", { bgw_notify_pid: pm.pid }))!;
      const { pid } = await pm.waitForBackgroundWorkerStartup(next);
      assert.equal(parentOf(pid!), spawner, "the same spawner still spawns");
      assert.equal(stopSignals, 0, "no stop signal was passed on to the postmaster");
    } finally {
      process.off("SIGTERM", stopListener);
    }
  } finally {
    process.off("SIGHUP", listener);
    await pm.stop("fast");
  }
});

test("the spawner's death: its workers end as after a crash, and the next workers start through a new spawner", {
  skip: withSpawner ? false : "Deno and Bun postmasters spawn workers themselves: there is no spawner to lose",
}, async () => {
  const { pm, logs, until } = realPostmaster();
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("survivor", "napper", { bgw_notify_pid: pm.pid, bgw_restart_time: 0 }),
    )!;
    const first = (await pm.waitForBackgroundWorkerStartup(handle)).pid!;
    const spawner = parentOf(first)!;
    process.kill(spawner, "SIGKILL");
    await until(
      "the worker to be counted a crash",
      () => logs.some((l) => l.includes(`(PID ${first}) was terminated by signal 9`)),
    );
    await until("the worker to run again", () => {
      const status = pm.getBackgroundWorkerPid(handle);
      return status.status === BGWH_STARTED && status.pid !== first;
    }, 30_000);
    const second = pm.getBackgroundWorkerPid(handle).pid!;
    assert.ok(!isAlive(first), "the first worker is gone");
    const newSpawner = parentOf(second)!;
    assert.notEqual(newSpawner, spawner);
    assert.equal(parentOf(newSpawner), process.pid);
  } finally {
    await pm.stop("fast");
  }
});

/** A live process's fields from /proc/<pid>/stat after its command: state, ppid, pgrp, session. */
function statOf(pid: number): { parent: number; group: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { parent: Number(fields[1]), group: Number(fields[2]), session: Number(fields[3]) };
}

test("the channel: a Deno postmaster's workers connect to its socket, the others' inherit descriptor 3; every worker leads its own session", async () => {
  const { pm, notes, until } = realPostmaster();
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(fixture("channelled", "napper", { bgw_notify_pid: pm.pid }))!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
    // The environment the worker was started with (its own later deletions do not show here).
    const environment = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const socket = environment.find((entry) => entry.startsWith("BGWORKER_CHANNEL_SOCKET="));
    if (onDeno) {
      assert.ok(socket, "a socket channel");
      assert.ok(!environment.some((entry) => entry.startsWith("NODE_CHANNEL_FD=")), "no IPC descriptor");
      assert.match(commandLineOf(pid!), /^bgworker: channelled/, "the title it set itself, as it booted");
    } else {
      assert.equal(socket, undefined);
      assert.ok(environment.includes("NODE_CHANNEL_FD=3"));
    }
    const { group, session } = statOf(pid!);
    assert.deepEqual({ group, session }, { group: pid, session: pid }, "its own process group and session");
    await terminateAndAwait(pm, handle, notes, until);
  } finally {
    await pm.stop("fast");
  }
});

test("100 workers registered at once, three times over: every one reports in", async () => {
  const { pm } = realPostmaster({ maxWorkerProcesses: 100 });
  await pm.start();
  try {
    for (let round = 0; round < 3; round++) {
      const handles = Array.from(
        { length: 100 },
        (_, i) =>
          pm.registerDynamicBackgroundWorker(fixture(`many ${round}.${i}`, "napper", { bgw_notify_pid: pm.pid }))!,
      );
      let started = 0;
      const all = Promise.all(handles.map((handle) =>
        pm.waitForBackgroundWorkerStartup(handle).then(({ status }) => {
          assert.equal(status, BGWH_STARTED);
          started++;
        })
      ));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`round ${round}: ${started} of 100 reported in within 120 s`)),
          120_000,
        );
      });
      try {
        await Promise.race([all, bound]);
      } finally {
        clearTimeout(timer);
      }
      for (const handle of handles) pm.terminateBackgroundWorker(handle);
      await Promise.all(handles.map((handle) => pm.waitForBackgroundWorkerShutdown(handle)));
    }
  } finally {
    await pm.stop("fast");
  }
});

test("the spawner: what a worker writes on its channel before the channel reaches the postmaster is not lost", {
  skip: withSpawner ? false : "Deno and Bun spawn their workers themselves: only Node's postmasters have a spawner",
}, async () => {
  // Thirty at once: the spawner's replies go one at a time, each acknowledged, so most channels wait in its outbox
  // while their process has long written its line (and exited). Node had read those bytes into the pipe it was
  // about to hand on, and they went with it: a spare's "ready" lost so, and the spare never counted as ready.
  const spawner = new Spawner(spawnerCommand());
  const count = 30;
  const lines = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<{ pid: number; text: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no end of the channel in 20 s")), 20_000);
        spawner.spawn(
          { execPath: "/bin/sh", args: ["-c", 'printf "hello %s\\n" $$ >&3'], env: {}, argv0: "sh", capture: false },
          {
            spawned: (pid, channel) => {
              let text = "";
              channel.on("data", (chunk) => text += chunk);
              channel.on("error", () => {});
              channel.on("close", () => {
                clearTimeout(timer);
                resolve({ pid, text });
              });
            },
            output: () => {},
            exited: () => {},
            lost: () => reject(new Error("the spawner was lost")),
            failed: (reason) => reject(new Error(reason)),
          },
        );
      })),
  );
  assert.deepEqual(lines.map((l) => l.text), lines.map((l) => `hello ${l.pid}\n`));
  process.kill(spawner.pid!, "SIGKILL");
});

test("the spawner: a spawn that fails is told, with the reason, and nothing else is", async () => {
  const spawner = new Spawner(spawnerCommand());
  const told: string[] = [];
  const failed = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer from the spawner in 20 s")), 20_000);
    spawner.spawn(
      { execPath: "/nonexistent/bgworker-runtime", args: [], env: {}, argv0: "x", capture: false },
      {
        spawned: () => told.push("spawned"),
        output: () => told.push("output"),
        exited: () => told.push("exited"),
        lost: () => told.push("lost"),
        failed: (reason) => {
          clearTimeout(timer);
          resolve(reason);
        },
      },
    );
  });
  assert.match(failed, /ENOENT/);
  assert.deepEqual(told, []);
  // The spawner leaves with its channel: here, when nothing keeps the test alive; make sure of it now.
  process.kill(spawner.pid!, "SIGKILL");
});

test("the spawner: a postmaster killed while a worker's pid is on its way leaves neither the spawner nor the worker", async () => {
  const value = `dies-during-spawn-${process.pid}-${Date.now()}`;
  const mark = `BGWORKER_TEST_MARK=${value}`;
  // Inherited by the postmaster, its spawner and its worker: every process of that postmaster carries it.
  process.env.BGWORKER_TEST_MARK = value;
  const postmaster = spawnSameRuntime(DIES_DURING_SPAWN);
  delete process.env.BGWORKER_TEST_MARK;
  const gone = new Promise((resolve) => postmaster.once("exit", resolve));
  const others = () => processesMarked(mark).filter((pid) => pid !== postmaster.pid && pid !== process.pid);
  // The worker runs before the postmaster kills itself: spawned by the spawner on Node, whose answer with the
  // worker's pid the postmaster never reads, or by the postmaster itself on Deno and Bun.
  const workerRuns = () => others().some((pid) => commandLineOf(pid).startsWith("bgworker: in flight"));
  const seenBy = Date.now() + 20_000;
  while (!workerRuns() && Date.now() < seenBy) await new Promise((r) => setTimeout(r, 20));
  assert.ok(workerRuns(), "the worker started while the postmaster held its loop");
  if (withSpawner) assert.ok(others().some((pid) => commandLineOf(pid).startsWith("bgworker: spawner")));
  await gone;
  const killedAt = Date.now();
  while (others().length > 0 && Date.now() - killedAt < 3000) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(others(), [], `still running ${Date.now() - killedAt} ms after the postmaster's SIGKILL`);
});

/** Terminate a worker and wait for the notification that it stopped. */
async function terminateAndAwait(
  pm: ReturnType<typeof realPostmaster>["pm"],
  handle: BackgroundWorkerHandle,
  notes: ReturnType<typeof realPostmaster>["notes"],
  until: ReturnType<typeof realPostmaster>["until"],
): Promise<void> {
  pm.terminateBackgroundWorker(handle);
  await until("the worker to stop", () => notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STOPPED));
}
