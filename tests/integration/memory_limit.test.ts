import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import type { LogContext, WorkerEvent } from "../../mod.ts";
import { detectRuntime } from "../../runtimes/detect.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";

const OPS = new URL("../fixtures/ops_workers.ts", import.meta.url).href;
const onLinux = { skip: process.platform === "linux" ? false : "the memory check reads Linux's /proc" };

/** A real postmaster whose worker events and worker output lines are recorded. */
function memoryHarness() {
  const events: WorkerEvent[] = [];
  const lines: { message: string; context?: LogContext }[] = [];
  const harness = realPostmaster({
    stopTimeoutMs: 1000,
    logger: (_level, message, context) => {
      lines.push({ message, context });
      harness.recheck();
    },
  });
  harness.pm.on("worker", (event) => {
    events.push(event);
    harness.recheck();
  });
  const said = (pattern: RegExp) => lines.find((line) => pattern.test(line.message));
  const starts = () => events.filter((e) => e.kind === "started");
  return { ...harness, events, lines, said, starts };
}

test(
  "memoryLimitMb, real processes: a worker whose resident memory passes the limit is stopped and restarted",
  onLinux,
  async (t) => {
    const { pm, until, said, starts, events } = memoryHarness();
    await pm.start();
    try {
      pm.registerDynamicBackgroundWorker(
        fixture("offheap", "growsOffHeap", { bgw_main_arg: 200, bgw_restart_time: 0.1, bgw_library_name: OPS }),
        { memoryLimitMb: 200 },
      );
      await until("a restart after the memory limit", () => starts().length >= 2, 30_000);
      const over = said(
        /^background worker "offheap" \(PID (\d+)\) uses (\d+) MB of memory, over its memoryLimitMb of 200: terminating it$/,
      );
      assert.ok(over, "the log line names the worker, its memory and the limit");
      assert.ok(Number(over.message.match(/uses (\d+) MB/)![1]) > 200);
      const exited = events.find((e) => e.kind === "exited")!;
      assert.equal(exited.pid, starts()[0]!.pid, "the first process exited");
      assert.ok(!said(/terminating any other active server processes/), "no crash cycle");
      const crossed = said(/^crossed 200 MiB at (\d+)$/);
      if (crossed) {
        const crossedAt = Number(crossed.message.split(" at ")[1]);
        t.diagnostic(`limit crossed → restarted: ${starts()[1]!.at - crossedAt} ms`);
      }
    } finally {
      await pm.stop("immediate");
    }
  },
);

test(
  "memoryLimitMb, real processes: the runtime's heap limit is set, and dying of it counts as exit 1",
  onLinux,
  async () => {
    const { pm, until, said, starts } = memoryHarness();
    await pm.start();
    try {
      pm.registerDynamicBackgroundWorker(
        fixture("onheap", "growsHeap", { bgw_restart_time: 0.1, bgw_library_name: OPS }),
        { memoryLimitMb: 96 },
      );
      await until("a restart after the heap limit", () => starts().length >= 2, 30_000);
      if (detectRuntime() === "bun") {
        // JavaScriptCore has no hard heap limit: on Bun the postmaster's memory check is what ends the worker.
        assert.ok(said(/^background worker "onheap" \(PID \d+\) uses \d+ MB of memory, over its memoryLimitMb of 96/));
      } else {
        assert.ok(
          said(
            /^background worker "onheap" \(PID \d+\) reached its heap limit \(memoryLimitMb 96\); counted as exit code 1$/,
          ),
          "V8 ended the worker at its old-space limit, before the once-a-second check",
        );
      }
      assert.ok(!said(/terminating any other active server processes/), "no crash cycle");
    } finally {
      await pm.stop("immediate");
    }
  },
);
