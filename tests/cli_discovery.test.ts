import assert from "node:assert/strict";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { controlSocketDirectory, defaultControlSocket } from "../runtimes/shared/control/socket_path.ts";
import { findControlSockets, oneSocket, skippedNote, socketsToAsk } from "../runtimes/shared/cli/discovery.ts";
import { CliError, EXIT_UNREACHABLE, EXIT_USAGE } from "../runtimes/shared/cli/errors.ts";
import { makeStaleSocket, startFakeControlServer, tempSocketDir } from "./helpers/fake_control_server.ts";

const cliError = (exitCode: number, message: RegExp) => (e: unknown) => {
  assert.ok(e instanceof CliError, String(e));
  assert.equal(e.exitCode, exitCode);
  assert.match(e.message, message);
  return true;
};

test("cli discovery: <pid>.sock files by pid, other names ignored, a missing directory is empty", () => {
  const dir = tempSocketDir();
  try {
    writeFileSync(join(dir, "notes.txt"), "");
    writeFileSync(join(dir, `${process.pid}.sock`), "");
    writeFileSync(join(dir, "1.sock"), "");
    assert.deepEqual(findControlSockets(dir), [
      { path: join(dir, "1.sock"), pid: 1, alive: true },
      { path: join(dir, `${process.pid}.sock`), pid: process.pid, alive: true },
    ]);
    assert.deepEqual(findControlSockets(join(dir, "missing")), []);
    // The default directory is where the postmaster puts its sockets.
    assert.equal(findControlSockets().every((s) => s.path.startsWith(controlSocketDirectory())), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cli discovery: a given socket or pid is used as is; none found says where it looked", () => {
  const dir = tempSocketDir();
  try {
    assert.deepEqual(socketsToAsk({ socket: "/x/77.sock" }, dir), {
      sockets: [{ path: "/x/77.sock", pid: 77 }],
      skipped: [],
    });
    assert.deepEqual(oneSocket({ socket: "/x/ctl" }, dir).socket, { path: "/x/ctl", pid: null });
    assert.deepEqual(oneSocket({ pid: 4242 }, dir).socket, { path: defaultControlSocket(4242), pid: 4242 });
    assert.throws(
      () => socketsToAsk(null, dir),
      cliError(EXIT_UNREACHABLE, new RegExp(`^no postmaster found: looked in ${dir}, no control socket there`)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cli discovery: stale sockets of dead pids are skipped; several live ones need a choice", async () => {
  const first = await startFakeControlServer();
  const stale = await makeStaleSocket(first.dir);
  try {
    const { sockets, skipped } = socketsToAsk(null, first.dir);
    assert.deepEqual(sockets, [{ path: first.path, pid: process.pid }]);
    assert.deepEqual(skipped, [{ path: stale.path, pid: stale.pid, alive: false }]);
    assert.equal(
      skippedNote(skipped[0]!),
      `skipped stale control socket ${stale.path}: the postmaster that made it (pid ${stale.pid}) is gone`,
    );
    assert.equal(oneSocket(null, first.dir).socket.path, first.path);

    const second = await startFakeControlServer({ dir: first.dir, pid: process.ppid });
    try {
      assert.throws(
        () => oneSocket(null, first.dir),
        cliError(
          EXIT_USAGE,
          /^several postmasters found in .*: \d+ \(.*\.sock\), \d+ \(.*\.sock\); choose one with --pid PID or --socket PATH$/,
        ),
      );
    } finally {
      await second.close();
    }
  } finally {
    await first.close();
  }

  const onlyStale = tempSocketDir();
  try {
    const dead = await makeStaleSocket(onlyStale);
    assert.throws(
      () => oneSocket(null, onlyStale),
      cliError(
        EXIT_UNREACHABLE,
        new RegExp(`only stale sockets there, of postmasters that are gone \\(pid ${dead.pid}\\)`),
      ),
    );
  } finally {
    rmSync(onlyStale, { recursive: true, force: true });
  }
});

test("cli discovery: an unreadable directory is permission denied (skipped as root, who reads anything)", {
  skip: process.getuid?.() === 0 ? "root reads every directory" : false,
}, () => {
  const dir = tempSocketDir();
  const locked = join(dir, "locked");
  mkdirSync(locked, { mode: 0o000 });
  try {
    assert.throws(() => findControlSockets(locked), cliError(EXIT_UNREACHABLE, /^permission denied for /));
  } finally {
    chmodSync(locked, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});
