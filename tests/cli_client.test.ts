import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { checkReply, connectError, ControlConnection, requestOnce } from "../runtimes/shared/cli/client.ts";
import { CliError, EXIT_FAILED, EXIT_UNREACHABLE } from "../runtimes/shared/cli/errors.ts";
import { makeStaleSocket, startFakeControlServer, workerEntry } from "./helpers/fake_control_server.ts";

async function rejectsWith(promise: Promise<unknown>, exitCode: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.exitCode, exitCode);
    assert.match(e.message, message);
    return true;
  });
}

test("cli client: one request, its ok reply, the request as the protocol reads it", async () => {
  const server = await startFakeControlServer({ workers: [workerEntry()] });
  try {
    const reply = await requestOnce(server.path, { op: "ps" }, 2000);
    assert.equal(reply.ok, true);
    assert.equal(reply.id, 1);
    assert.equal(reply.postmasterPid, server.pid);
    assert.equal((reply.workers as unknown[]).length, 1);
    await requestOnce(server.path, { op: "terminate", handle: { slot: 2, generation: 7 } }, 2000);
    assert.deepEqual(server.requests, [{ id: 1, op: "ps" }, {
      id: 1,
      op: "terminate",
      handle: { slot: 2, generation: 7 },
    }]);
  } finally {
    await server.close();
  }
});

test("cli client: a refusal is exit 1 with the postmaster's words; silence is exit 3 after the timeout", async () => {
  const refusing = await startFakeControlServer({ refuse: { terminate: "no worker has handle 2:7" } });
  const silent = await startFakeControlServer({ silent: true, pid: process.ppid });
  try {
    await rejectsWith(
      requestOnce(refusing.path, { op: "terminate", handle: { slot: 2, generation: 7 } }, 2000),
      EXIT_FAILED,
      /^the postmaster at .* refused: no worker has handle 2:7$/,
    );
    await rejectsWith(requestOnce(silent.path, { op: "ps" }, 150), EXIT_UNREACHABLE, /no reply within 150 ms$/);
  } finally {
    await refusing.close();
    await silent.close();
  }
});

test("cli client: a connection closed before the reply, and lines that are not JSON objects", async () => {
  const server = await startFakeControlServer({ silent: true });
  try {
    const connection = await ControlConnection.open(server.path, 2000);
    connection.send({ id: 1, op: "ps" });
    server.dropConnections();
    assert.equal(await connection.next(2000), null);
    connection.close();
    await rejectsWith(
      Promise.resolve().then(() => checkReply(server.path, null)),
      EXIT_UNREACHABLE,
      /closed the connection without a reply/,
    );
    assert.deepEqual(checkReply(server.path, { id: 1, ok: true }), { id: 1, ok: true });
    assert.throws(() => checkReply("/x", { id: 1, ok: false }), /refused: \{"id":1,"ok":false\}/);
  } finally {
    await server.close();
  }
});

test("cli client: no socket, a stale socket and a file that is not a socket each say so, exit 3", async () => {
  const server = await startFakeControlServer();
  try {
    await rejectsWith(
      ControlConnection.open(join(server.dir, "1.sock"), 2000),
      EXIT_UNREACHABLE,
      /^no postmaster found: no control socket at .*1\.sock$/,
    );
    const stale = await makeStaleSocket(server.dir);
    await rejectsWith(
      ControlConnection.open(stale.path, 2000),
      EXIT_UNREACHABLE,
      new RegExp(
        `^no postmaster answers at .*: stale socket, the postmaster that made it \\(pid ${stale.pid}\\) is gone$`,
      ),
    );
    const file = join(server.dir, "plain.sock");
    writeFileSync(file, "");
    await rejectsWith(ControlConnection.open(file, 2000), EXIT_UNREACHABLE, /plain\.sock is not a socket$/);
  } finally {
    await server.close();
  }
});

test("cli client: permission denied and other system errors are named (as root, EACCES cannot be made for real)", () => {
  const denied = connectError("/run/user/1000/bgworker/4242.sock", Object.assign(new Error("x"), { code: "EACCES" }));
  assert.equal(denied.exitCode, EXIT_UNREACHABLE);
  assert.match(
    denied.message,
    /^no postmaster answers at \/run\/user\/1000\/bgworker\/4242\.sock: permission denied; /,
  );
  assert.match(
    connectError("/x.sock", Object.assign(new Error("boom"), { code: "EIO" })).message,
    /cannot connect to \/x\.sock: boom/,
  );
  // A refused socket whose pid is alive: not "gone", but nobody listens either.
  const alive = connectError(
    `/nonexistent/${process.pid}.sock`,
    Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
  );
  assert.match(
    alive.message,
    new RegExp(`stale socket, nothing listens on it .*pid ${process.pid} is now another process`),
  );
});
