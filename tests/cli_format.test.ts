import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatBytes,
  formatCpu,
  formatDuration,
  formatLastExit,
  formatTable,
  NONE,
} from "../runtimes/shared/cli/format.ts";
import { formatWorkerTable, WORKER_COLUMNS, workerRow } from "../runtimes/shared/cli/worker_table.ts";
import { workerEntry } from "./helpers/fake_control_server.ts";

test("cli format: a table pads each column to its widest cell, two spaces apart, no trailing spaces", () => {
  assert.equal(
    formatTable(["name", "pid", "x"], [["importer", "4242", ""], ["mailer", "-", "é€"]]),
    ["name      pid   x", "importer  4242", "mailer    -     é€"].join("\n"),
  );
  assert.equal(formatTable(["a"], []), "a");
});

test("cli format: durations, bytes, CPU time and last exits in short units", () => {
  assert.deepEqual(
    [0, 999, 45_000, 60_000, 125_000, 3_600_000, 3_723_000, 86_400_000, 93_600_000, -5].map(formatDuration),
    ["0s", "0s", "45s", "1m", "2m 5s", "1h", "1h 2m", "1d", "1d 2h", "0s"],
  );
  assert.equal(formatDuration(NaN), NONE);
  assert.deepEqual(
    [0, 1023, 1536, 54_840_320, 3 * 1024 ** 3, null, undefined, -1].map(formatBytes),
    ["0 B", "1023 B", "2 KiB", "52.3 MiB", "3.00 GiB", NONE, NONE, NONE],
  );
  assert.deepEqual([0, 0.4213, 59.999, 75, null].map(formatCpu), ["0.00s", "0.42s", "60.00s", "1m 15s", NONE]);
  const now = 1_000_000;
  assert.equal(formatLastExit(null, now), NONE);
  assert.equal(formatLastExit({ code: 1, signal: null, at: now - 5000 }, now), "code 1, 5s ago");
  assert.equal(formatLastExit({ code: null, signal: "SIGKILL", at: now - 90_000 }, now), "SIGKILL, 1m 30s ago");
  assert.equal(formatLastExit({ code: 0, signal: null }, now), "code 0");
});

test("cli format: a worker row shows handle, uptime of a running worker and a pending restart", () => {
  const now = 10_000_000;
  assert.deepEqual(workerRow(workerEntry({ startedAt: now - 65_000 }), now), [
    "0:1",
    "importer",
    "importer",
    "running",
    "4242",
    "1m 5s",
    "0",
    NONE,
    "1.25s",
    "52.0 MiB",
  ]);
  const waiting = workerRow(
    workerEntry({
      handle: { slot: 3, generation: 9 },
      state: "waiting_restart",
      pid: null,
      startedAt: null,
      nextRestartAt: now + 4000,
      restarts: 2,
      lastExit: { code: 1, signal: null, at: now - 1000 },
      rssBytes: null,
      cpuSeconds: null,
    }),
    now,
  );
  assert.deepEqual(waiting, [
    "3:9",
    "importer",
    "importer",
    "waiting_restart (in 4s)",
    NONE,
    NONE,
    "2",
    "code 1, 1s ago",
    NONE,
    NONE,
  ]);
});

test("cli format: a worker entry with missing or hostile fields still makes a row", () => {
  const row = workerRow({ bgw_name: "evil\x1b[2J\nname", state: {} }, 0);
  assert.equal(row.length, WORKER_COLUMNS.length);
  assert.equal(row[0], NONE);
  assert.equal(row[1], "evil?[2J?name");
  assert.equal(row[3], NONE);
});

test("cli format: the worker table adds a wait event column only when a worker waits on one", () => {
  const now = Date.now();
  const plain = formatWorkerTable([workerEntry()], now);
  assert.match(
    plain.split("\n")[0]!,
    /^slot:gen {2}name {6}type {6}state {4}pid {3}uptime {2}restarts {2}last exit {2}cpu {4}memory$/,
  );
  assert.doesNotMatch(plain, /wait event/);
  const waiting = formatWorkerTable([workerEntry(), workerEntry({ bgw_name: "spi", waitEvent: "WorkerSpiMain" })], now);
  const [header, first, second] = waiting.split("\n");
  assert.match(header!, /memory {4}wait event$/);
  assert.match(first!, /52\.0 MiB {2}-$/);
  assert.match(second!, /52\.0 MiB {2}WorkerSpiMain$/);
  assert.equal(formatWorkerTable([], now), "(no workers)");
});
