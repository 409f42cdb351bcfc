import assert from "node:assert/strict";
import { test } from "node:test";
import { Postmaster } from "../src/postmaster/postmaster.ts";
import { FakeRuntime, worker } from "./helpers/fake_runtime.ts";

test("the default logger writes LOG and WARNING lines in PostgreSQL's format through the adapter, not DEBUG1", async () => {
  const runtime = new FakeRuntime();
  const pm = new Postmaster({ adapter: runtime });
  pm.registerBackgroundWorker(worker("logged", { bgw_type: "logger test", bgw_restart_time: 1 }));
  await pm.start();
  const p = runtime.last("logged").reportStarted();
  p.exit(1);
  runtime.advance(1000);
  runtime.last("logged").reportStarted().exit(0);
  assert.deepEqual(runtime.logs, [
    "LOG:  database system is ready to accept connections",
    `LOG:  background worker "logger test" (PID ${p.pid}) exited with exit code 1`,
  ]);
});

test("a replaced logger receives every level, and a logger that throws does not break the postmaster", async () => {
  const runtime = new FakeRuntime();
  const lines: string[] = [];
  const pm = new Postmaster({ adapter: runtime, logger: (level, message) => lines.push(`${level}: ${message}`) });
  pm.registerBackgroundWorker(worker("w"));
  await pm.start();
  assert.deepEqual(lines, [
    'DEBUG1: registering background worker "w"',
    "LOG: database system is ready to accept connections",
    'DEBUG1: starting background worker process "w"',
  ]);
  const broken = new Postmaster({
    adapter: runtime,
    logger: () => {
      throw new Error("disk full");
    },
  });
  broken.registerBackgroundWorker(worker("x"));
  await broken.start();
  assert.equal(runtime.count("x"), 1);
});
