import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { runHealth } from "../runtimes/shared/cli/commands/health.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../runtimes/shared/cli/errors.ts";
import { healthVerdict } from "../runtimes/shared/cli/health.ts";
import { runCli } from "../runtimes/shared/cli/run.ts";
import { memoryIo } from "./fixtures/cli_io.ts";
import { startFakeControlServer, tempSocketDir, workerEntry } from "./helpers/fake_control_server.ts";

const failed = (name: string, slot: number) =>
  workerEntry({ bgw_name: name, handle: { slot, generation: 1 }, state: "failed" });

test("cli health: healthy when no worker failed, whatever the others are doing", () => {
  assert.deepEqual(healthVerdict([]), { healthy: true, line: "ok: 0 workers, none failed" });
  assert.deepEqual(healthVerdict([workerEntry()]), { healthy: true, line: "ok: 1 worker, none failed" });
  const busy = ["running", "starting", "stopping", "waiting_restart", "not_yet_started"].map((state) =>
    workerEntry({ state })
  );
  assert.deepEqual(healthVerdict(busy), { healthy: true, line: "ok: 5 workers, none failed" });
});

test("cli health: unhealthy names the failed worker, or counts and names several", () => {
  assert.deepEqual(healthVerdict([workerEntry(), failed("importer", 2)]), {
    healthy: false,
    line: 'unhealthy: worker "importer" (slot 2) failed',
  });
  assert.deepEqual(healthVerdict([failed("a", 0), workerEntry(), failed("b", 3)]), {
    healthy: false,
    line: 'unhealthy: 2 of 3 workers failed: "a" (slot 0), "b" (slot 3)',
  });
  const many = Array.from({ length: 7 }, (_, i) => failed(`w${i}`, i));
  assert.match(
    healthVerdict(many).line,
    /^unhealthy: 7 of 7 workers failed: "w0" \(slot 0\), .*"w4" \(slot 4\) and 2 more$/,
  );
  assert.deepEqual(healthVerdict(undefined), {
    healthy: false,
    line: "unhealthy: the postmaster's reply has no worker list",
  });
});

test("cli health: against a socket, exit 0, 1 with a failed worker, 1 when nothing answers, 2 when ambiguous", async () => {
  const fine = await startFakeControlServer({ workers: [workerEntry(), workerEntry()] });
  const sick = await startFakeControlServer({ workers: [failed("importer", 2)], pid: process.ppid });
  try {
    let io = memoryIo(fine.dir);
    assert.equal(await runHealth({ command: "health", help: false, target: null, timeoutMs: 2000 }, io), EXIT_OK);
    assert.deepEqual(io.stdout, ["ok: 2 workers, none failed\n"]);

    io = memoryIo(sick.dir);
    assert.equal(await runCli(["health", "--socket", sick.path], io), EXIT_FAILED);
    assert.deepEqual(io.stdout, ['unhealthy: worker "importer" (slot 2) failed\n']);

    const gone = join(fine.dir, "999999.sock");
    io = memoryIo(fine.dir);
    assert.equal(await runCli(["health", "--socket", gone], io), EXIT_FAILED);
    assert.deepEqual(io.stdout, [`no postmaster found: no control socket at ${gone}\n`]);

    // Two postmasters in one directory and none chosen: a usage error, not a verdict.
    const two = await startFakeControlServer({ dir: fine.dir, pid: process.ppid });
    try {
      io = memoryIo(fine.dir);
      assert.equal(await runCli(["health"], io), EXIT_USAGE);
      assert.match(io.stderr.join(""), /several postmasters found/);
    } finally {
      await two.close();
    }
  } finally {
    await fine.close();
    await sick.close();
  }
});

test("cli health: a silent postmaster is unhealthy after --timeout; an empty directory says where it looked", async () => {
  const silent = await startFakeControlServer({ silent: true });
  const empty = tempSocketDir();
  try {
    let io = memoryIo(silent.dir);
    const started = Date.now();
    assert.equal(await runCli(["health", "--timeout", "200"], io), EXIT_FAILED);
    assert.ok(Date.now() - started < 3000);
    assert.deepEqual(io.stdout, [`no postmaster answers at ${silent.path}: no reply within 200 ms\n`]);

    io = memoryIo(empty);
    assert.equal(await runCli(["health"], io), EXIT_FAILED);
    assert.match(io.stdout.join(""), new RegExp(`^no postmaster found: looked in ${empty}, no control socket there`));
  } finally {
    await silent.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
