import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogContext } from "../src/postmaster/options.ts";
import { Postmaster } from "../src/postmaster/postmaster.ts";
import { FakeRuntime, worker } from "./helpers/fake_runtime.ts";

test("worker output: each line reaches the logger with the worker's identity; the default logger prefixes pid and name", async () => {
  const runtime = new FakeRuntime();
  const seen: [string, string, LogContext | undefined][] = [];
  const pm = new Postmaster({
    adapter: runtime,
    logger: (level, message, context) => seen.push([level, message, context]),
  });
  pm.registerBackgroundWorker(worker("talker"));
  await pm.start();
  const child = runtime.last("talker").reportStarted();
  child.events.output!("stdout", "hello", false);
  child.events.output!("stderr", "x".repeat(10), true);
  child.post({ type: "log", level: "NOTICE", message: "from elog" });
  const identity = { name: "talker", type: "talker", pid: child.pid, slot: 0, generation: 1 };
  assert.deepEqual(seen.filter(([, , c]) => c?.stream), [
    ["LOG", "hello", { worker: identity, stream: "stdout" }],
    ["LOG", `${"x".repeat(10)} [cut: the line was longer than 1 MiB]`, { worker: identity, stream: "stderr" }],
    ["NOTICE", "from elog", { worker: identity, stream: "elog" }],
  ]);
  child.exit(1);
  const exitLine = seen.find(([, m]) => m.includes("exited with exit code 1"))!;
  assert.deepEqual(exitLine[2], { worker: identity }, "a line about a worker names it too");
  const plain = seen.find(([, m]) => m === "database system is ready to accept connections")!;
  assert.equal(plain[2], undefined, "a two-argument logger sees no third argument where there is no worker");

  const quiet = new FakeRuntime();
  const byDefault = new Postmaster({ adapter: quiet });
  byDefault.registerBackgroundWorker(worker("talker"));
  await byDefault.start();
  const other = quiet.last("talker").reportStarted();
  other.events.output!("stdout", "hello", false);
  other.exit(1);
  assert.ok(quiet.logs.includes(`LOG:  [${other.pid}] talker: hello`), quiet.logs.join("\n"));
  assert.ok(
    quiet.logs.includes(`LOG:  background worker "talker" (PID ${other.pid}) exited with exit code 1`),
    "lines about a worker keep PostgreSQL's wording",
  );
});

test('workerOutput is checked: "logger" or "inherit"', () => {
  assert.throws(
    () => new Postmaster({ adapter: new FakeRuntime(), workerOutput: "file" as never }),
    /workerOutput must be "logger" or "inherit"/,
  );
});
