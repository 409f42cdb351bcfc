/**
 * The `bgworker` command as a real process on the runtime under test:
 * against the fake control server, and against a real postmaster with a
 * napping worker once `controlSocket` exists.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Postmaster } from "../../mod.ts";
import { makeStaleSocket, startFakeControlServer, workerEntry } from "../helpers/fake_control_server.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";
import { spawnSameRuntime } from "../helpers/same_runtime.ts";

const MAIN = fileURLToPath(new URL("../../runtimes/shared/cli/main.ts", import.meta.url));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A runtime directory of its own, as `$XDG_RUNTIME_DIR`: sockets go in `<it>/bgworker`. */
function runtimeDir(): { xdg: string; sockets: string; remove(): void } {
  const xdg = mkdtempSync(join(tmpdir(), "bgworker-cli-xdg-"));
  const sockets = join(xdg, "bgworker");
  mkdirSync(sockets, { mode: 0o700 });
  return { xdg, sockets, remove: () => rmSync(xdg, { recursive: true, force: true }) };
}

/** Start `bgworker args…` with `$XDG_RUNTIME_DIR` set to `xdg`; `whenRunning` may act on it before it ends. */
async function bgworker(
  args: string[],
  xdg: string,
  whenRunning?: (child: ReturnType<typeof spawnSameRuntime>, stdout: () => string) => Promise<void>,
): Promise<Ran> {
  const saved = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = xdg;
  let child: ReturnType<typeof spawnSameRuntime>;
  try {
    child = spawnSameRuntime(MAIN, args, { stderr: "pipe" });
  } finally {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
  }
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += chunk);
  child.stderr!.on("data", (chunk) => stderr += chunk);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    if (whenRunning) await whenRunning(child, () => stdout);
    const code = await exited;
    await new Promise((resolve) => setTimeout(resolve, 20)); // the last output may trail the exit event
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function until(what: string, predicate: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("bgworker command: --help lists the commands and exit codes; unknown commands and flags exit 2", async () => {
  const dir = runtimeDir();
  try {
    const help = await bgworker(["--help"], dir.xdg);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^bgworker: look at and control/);
    assert.match(help.stdout, /Exit codes:[\s\S]*3 {2}no postmaster reachable/);
    const unknown = await bgworker(["sp"], dir.xdg);
    assert.deepEqual(unknown, {
      code: 2,
      stdout: "",
      stderr: 'bgworker: unknown command "sp"; did you mean "ps"?; see bgworker --help\n',
    });
    const flag = await bgworker(["ps", "--jsno"], dir.xdg);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown flag "--jsno"; did you mean "--json"\?/);
  } finally {
    dir.remove();
  }
});

test("bgworker command: ps finds the postmasters in $XDG_RUNTIME_DIR/bgworker and skips a stale socket, saying so", async () => {
  const dir = runtimeDir();
  const server = await startFakeControlServer({ dir: dir.sockets, workers: [workerEntry()] });
  try {
    const stale = await makeStaleSocket(dir.sockets);
    const table = await bgworker(["ps"], dir.xdg);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^postmaster ${server.pid} \\(${server.path}\\)\nslot:gen {2}name`));
    assert.match(table.stdout, /\n0:1 +importer +importer +running +4242 +1m \ds +0 +- +1\.25s +52\.0 MiB\n$/);
    assert.equal(
      table.stderr,
      `skipped stale control socket ${stale.path}: the postmaster that made it (pid ${stale.pid}) is gone\n`,
    );
    const json = await bgworker(["ps", "--json"], dir.xdg);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [{
      postmasterPid: server.pid,
      workers: [{ ...workerEntry(), startedAt: JSON.parse(json.stdout)[0].workers[0].startedAt }],
    }]);
    const refused = await bgworker(["ps", "--socket", stale.path], dir.xdg);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /stale socket, the postmaster that made it \(pid \d+\) is gone\n$/);
  } finally {
    await server.close();
    dir.remove();
  }
});

test("bgworker command: no postmaster found says where it looked (exit 3); health says why (exit 0 / 1)", async () => {
  const dir = runtimeDir();
  try {
    const none = await bgworker(["ps"], dir.xdg);
    assert.equal(none.code, 3);
    assert.match(
      none.stderr,
      new RegExp(`^bgworker: no postmaster found: looked in ${dir.sockets}, no control socket there`),
    );
    const noHealth = await bgworker(["health"], dir.xdg);
    assert.equal(noHealth.code, 1);
    assert.match(noHealth.stdout, /^no postmaster found: looked in /);

    const failed = workerEntry({ bgw_name: "importer", handle: { slot: 2, generation: 1 }, state: "failed" });
    const server = await startFakeControlServer({ dir: dir.sockets, workers: [workerEntry(), failed] });
    try {
      const sick = await bgworker(["health"], dir.xdg);
      assert.deepEqual(sick, { code: 1, stdout: 'unhealthy: worker "importer" (slot 2) failed\n', stderr: "" });
    } finally {
      await server.close();
    }
    const healthy = await startFakeControlServer({ dir: dir.sockets, workers: [workerEntry()] });
    try {
      assert.deepEqual(await bgworker(["health", "--pid", String(healthy.pid)], dir.xdg), {
        code: 0,
        stdout: "ok: 1 worker, none failed\n",
        stderr: "",
      });
    } finally {
      await healthy.close();
    }
  } finally {
    dir.remove();
  }
});

test("bgworker command: logs -f prints new lines until SIGINT and exits 0; terminate, stop and metrics", async () => {
  const dir = runtimeDir();
  const line = (message: string) => ({ at: 0, level: "LOG", message, worker: { name: "importer", pid: 4242 } });
  const server = await startFakeControlServer({
    dir: dir.sockets,
    logs: [line("before")],
    metrics: "bgworker_workers 1\n",
    refuse: { stop: "already stopping" },
  });
  try {
    const followed = await bgworker(["logs", "-f", "-n", "5"], dir.xdg, async (child, stdout) => {
      await server.followers(1, 20_000);
      server.emitLog(line("after"));
      await until("the followed line", () => stdout().includes("after"));
      // Not child.kill(): on Deno it misreports the exit as a death by that signal.
      process.kill(child.pid!, "SIGINT");
    });
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(
      followed.stdout,
      "1970-01-01T00:00:00.000Z LOG:  [4242] importer: before\n1970-01-01T00:00:00.000Z LOG:  [4242] importer: after\n",
    );
    const terminated = await bgworker(["terminate", "3:4"], dir.xdg);
    assert.deepEqual(terminated, { code: 0, stdout: `postmaster ${server.pid}: terminating worker 3:4\n`, stderr: "" });
    const stop = await bgworker(["stop"], dir.xdg);
    assert.deepEqual(stop, {
      code: 1,
      stdout: "",
      stderr: `bgworker: the postmaster at ${server.path} refused: already stopping\n`,
    });
    assert.deepEqual(await bgworker(["metrics"], dir.xdg), { code: 0, stdout: "bgworker_workers 1\n", stderr: "" });
    assert.deepEqual(server.requests.map((r) => r.op), ["logs", "terminate", "stop", "metrics"]);
  } finally {
    await server.close();
    dir.remove();
  }
});

/** A real postmaster with a control socket, or null while `controlSocket` is not an option yet. */
function realWithSocket(path: string | true): ReturnType<typeof realPostmaster> | null {
  try {
    return realPostmaster({ controlSocket: path } as ConstructorParameters<typeof Postmaster>[0]);
  } catch (error) {
    if (error instanceof TypeError && /unknown Postmaster option "controlSocket"/.test(error.message)) return null;
    throw error;
  }
}

test("bgworker command against a real postmaster: ps, health, logs (and -f), metrics, reload, terminate and stop", async (t) => {
  const dir = runtimeDir();
  const saved = process.env.XDG_RUNTIME_DIR;
  // controlSocket: true puts the socket in $XDG_RUNTIME_DIR/bgworker/<pid>.sock, chosen at start().
  process.env.XDG_RUNTIME_DIR = dir.xdg;
  const harness = realWithSocket(true);
  try {
    await harness?.pm.start();
  } finally {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
  }
  if (harness === null) {
    dir.remove();
    t.skip("new Postmaster({ controlSocket }) is not there yet");
    return;
  }
  const { pm } = harness;
  assert.equal(pm.controlSocketPath, join(dir.sockets, `${pm.pid}.sock`));
  let stopped = false;
  try {
    const handle = pm.registerDynamicBackgroundWorker(fixture("napper", "napper", { bgw_notify_pid: pm.pid }))!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);

    const ps = await bgworker(["ps", "--json"], dir.xdg);
    assert.equal(ps.code, 0, ps.stderr);
    const [only] = JSON.parse(ps.stdout) as { postmasterPid: number; workers: Record<string, unknown>[] }[];
    assert.equal(only!.postmasterPid, pm.pid);
    assert.deepEqual(
      only!.workers.map((w) => [w.bgw_name, w.state, w.pid, w.handle]),
      [["napper", "running", pid, { slot: handle.slot, generation: handle.generation }]],
    );
    const table = await bgworker(["ps"], dir.xdg);
    assert.match(table.stdout, new RegExp(`^postmaster ${pm.pid} \\(.*${pm.pid}\\.sock\\)\n`));
    assert.match(table.stdout, new RegExp(`\n${handle.slot}:${handle.generation} +napper +napper +running +${pid} `));

    assert.deepEqual(await bgworker(["health"], dir.xdg), {
      code: 0,
      stdout: "ok: 1 worker, none failed\n",
      stderr: "",
    });
    const logs = await bgworker(["logs", "-n", "50"], dir.xdg);
    assert.equal(logs.code, 0, logs.stderr);
    const metrics = await bgworker(["metrics"], dir.xdg);
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.match(metrics.stdout, /^# (HELP|TYPE) /m);
    assert.equal((await bgworker(["reload"], dir.xdg)).code, 0);

    // Follow the log while short-lived workers come and go, until one of their lines shows.
    const followed = await bgworker(["logs", "-f", "-n", "0", "brief"], dir.xdg, async (child, stdout) => {
      const deadline = Date.now() + 20_000;
      while (!stdout().includes("last words") && Date.now() < deadline) {
        pm.registerDynamicBackgroundWorker(fixture("brief", "lastWords"));
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      process.kill(child.pid!, "SIGINT");
    });
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /^\d{4}-\d\d-\d\dT\S+Z LOG: {2}\[\d+\] brief: last words before procExit\(1\)$/m);
    assert.doesNotMatch(followed.stdout, /napper/);

    const terminated = await bgworker(["terminate", `${handle.slot}:${handle.generation}`], dir.xdg);
    assert.equal(terminated.code, 0, terminated.stderr);
    await pm.waitForBackgroundWorkerShutdown(handle);

    const stop = await bgworker(["stop", "fast"], dir.xdg);
    assert.equal(stop.code, 0, stop.stderr);
    await until("the control socket to go", () => pm.controlSocketPath === null);
    stopped = true;
    const after = await bgworker(["ps"], dir.xdg);
    assert.equal(after.code, 3, after.stdout);
  } finally {
    if (!stopped) await pm.stop("immediate");
    dir.remove();
  }
});
