import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BGWH_STOPPED } from "../../mod.ts";
import { defaultControlSocket } from "../../runtimes/shared/control/socket_path.ts";
import { controlClient } from "../helpers/control_client.ts";
import { parseMetrics } from "../helpers/prometheus.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";
import { firstLine, spawnSameRuntime } from "../helpers/same_runtime.ts";

const STALE_SOCKET = fileURLToPath(new URL("../fixtures/stale_socket.ts", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "bgw-control-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("control socket: at the default place, 0700 and 0600; ps, metrics, logs, terminate, reload and stop; removed at stop", async () => {
  const { pm, notes, until } = realPostmaster({ controlSocket: true });
  await pm.start();
  const path = pm.controlSocketPath!;
  try {
    assert.equal(path, defaultControlSocket(process.pid));
    assert.equal((statSync(dirname(path)).mode & 0o777).toString(8), "700");
    assert.equal((statSync(path).mode & 0o777).toString(8), "600");
    const handle = pm.registerDynamicBackgroundWorker(fixture("napping", "napper", { bgw_notify_pid: pm.pid }))!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);

    const client = await controlClient(path);
    client.send({ id: 1, op: "ps" });
    const ps = await client.next();
    assert.equal(ps.id, 1);
    assert.equal(ps.ok, true);
    assert.equal(ps.postmasterPid, pm.pid);
    assert.deepEqual((ps.workers as { bgw_name: string; pid: number }[]).map((w) => [w.bgw_name, w.pid]), [[
      "napping",
      pid,
    ]]);

    client.send({ id: 2, op: "metrics" });
    const metrics = await client.next();
    assert.equal(parseMetrics(metrics.text as string).get("bgworker_workers")!.type, "GAUGE");

    client.send({ id: 3, op: "logs", lines: 1000, follow: true });
    const logs = await client.next();
    assert.ok((logs.lines as { message: string }[]).some((l) => l.message.startsWith("control socket listening at")));
    client.send({ id: 4, op: "reload" });
    // The reply and the line the reload logs, which the follower hears, in either order.
    const heard = [await client.next(), await client.next()];
    assert.ok(heard.some((r) => r.id === 4 && r.ok === true), JSON.stringify(heard));
    assert.ok(
      heard.some((r) => (r.line as { message?: string } | undefined)?.message?.includes("reloading configuration")),
      JSON.stringify(heard),
    );
    client.end();

    const second = await controlClient(path);
    second.send({ id: 5, op: "terminate", handle });
    assert.deepEqual(await second.next(), { id: 5, ok: true });
    await until("the worker to stop", () => notes.some((n) => n.status === BGWH_STOPPED), 20_000);
    second.send({ id: 6, op: "stop", mode: "fast" });
    assert.deepEqual(await second.next(), { id: 6, ok: true });
    for (const since = Date.now(); existsSync(path) && Date.now() - since < 10_000;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(!existsSync(path), "removed at stop");
    assert.equal(pm.controlSocketPath, null);
  } finally {
    await pm.stop("immediate");
  }
});

test("control socket: garbage, a 100 MB line and 1,000 connections are answered or refused, and the postmaster serves on", async () => {
  const path = join(scratch, "hostile.sock");
  const { pm } = realPostmaster({ controlSocket: path });
  await pm.start();
  try {
    const client = await controlClient(path);
    client.send("garbage");
    assert.deepEqual(await client.next(), { id: null, ok: false, error: "not JSON" });
    client.send({ id: 1, op: "format c:" });
    assert.deepEqual(await client.next(), { id: 1, ok: false, error: 'unknown op "format c:"' });
    client.send({ id: 2, op: "ps" });
    assert.equal((await client.next()).ok, true, "still served after garbage");

    const flood = await controlClient(path);
    const chunk = "x".repeat(1 << 20);
    for (let i = 0; i < 100 && !flood.closed; i++) {
      flood.socket.write(chunk);
      if (flood.socket.writableLength > 8 << 20) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const refusal = await flood.next();
    assert.equal(refusal.ok, false);
    assert.match(refusal.error as string, /^request longer than 65536 bytes$/);
    flood.end();

    // Those past the bound are told so and closed (or, past the kernel's backlog, never connect); the rest stay open.
    const many = await Promise.all(Array.from({ length: 1000 }, () => controlClient(path).catch(() => null)));
    const stillOpen = () => many.filter((c) => c !== null && !c.closed);
    for (const since = Date.now(); stillOpen().length > 63 && Date.now() - since < 10_000;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(stillOpen().length <= 63, `${stillOpen().length} of 1,000 served at once, besides the first client`);
    const told = many.filter((c) => c?.replies.some((r) => /^too many connections \(64\)$/.test(String(r.error))));
    assert.ok(told.length > 0, "the refused ones are told why");
    for (const c of many) c?.end();

    // Once the postmaster has seen those connections close, a new one is served again.
    let served = false;
    for (const since = Date.now(); !served && Date.now() - since < 10_000;) {
      const again = await controlClient(path);
      again.send({ id: 3, op: "ps" });
      served = (await again.next()).ok === true;
      again.end();
    }
    assert.ok(served, "served after the flood");
    client.end();
  } finally {
    await pm.stop("immediate");
  }
});

test("control socket: a stale socket of a killed postmaster is removed; a live one, or another user's place, is refused", async (t) => {
  const path = join(scratch, "stale.sock");
  const holder = spawnSameRuntime(STALE_SOCKET, [path]);
  assert.equal(await firstLine(holder), path);
  const live = realPostmaster({ controlSocket: path });
  await assert.rejects(live.pm.start(), /control socket: another postmaster listens at/);
  // Reaped, not only signalled: until then the dying process may still hold its listening socket.
  const reaped = new Promise((resolve) => holder.once("exit", resolve));
  process.kill(holder.pid!, "SIGKILL");
  await reaped;
  assert.ok(existsSync(path), "a SIGKILLed listener leaves its socket behind");
  const { pm } = realPostmaster({ controlSocket: path });
  await pm.start();
  try {
    const client = await controlClient(pm.controlSocketPath!);
    client.send({ op: "ps" });
    assert.equal((await client.next()).ok, true, "the stale socket was replaced");
    client.end();
  } finally {
    await pm.stop("immediate");
  }

  const foreign = mkdtempSync(join(tmpdir(), "bgw-control-foreign-"));
  t.after(() => rmSync(foreign, { recursive: true, force: true }));
  if (process.getuid?.() === 0) {
    // As root: a directory nobody owns is another user's place.
    const nobody = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
    chownSync(foreign, nobody, nobody);
    const refused = realPostmaster({ controlSocket: join(foreign, "x.sock") });
    await assert.rejects(refused.pm.start(), /control socket: the directory ".*" belongs to another user \(uid \d+\)/);
  } else {
    // As another user: a directory of root's (such as the temporary directory) is accepted, one's own too.
    const own = realPostmaster({ controlSocket: join(foreign, "x.sock") });
    await own.pm.start();
    await own.pm.stop("immediate");
  }
});

test("control socket: controlSocket is checked like every option", async () => {
  const { Postmaster } = await import("../../mod.ts");
  assert.throws(
    () => new Postmaster({ controlSocket: 5 as unknown as string }),
    /controlSocket must be true, false or a socket path; got/,
  );
  assert.throws(() => new Postmaster({ controlSocket: "" }), /controlSocket must be/);
});

test("control socket: another user cannot connect", {
  skip: process.getuid?.() === 0
    ? false
    : "needs root to run the client as another user (nobody); as another user the 0700 directory is the same proof",
}, async (t) => {
  const { pm } = realPostmaster({ controlSocket: true });
  await pm.start();
  t.after(() => pm.stop("immediate"));
  const nobody = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
  // The runtime's binary may sit where nobody cannot reach it (node_modules in a 0700 clone): nobody runs a copy.
  const home = mkdtempSync(join(tmpdir(), "bgw-control-nobody-"));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const runtime = join(home, "runtime");
  copyFileSync(process.execPath, runtime);
  chmodSync(home, 0o755);
  chmodSync(runtime, 0o755);
  chownSync(home, nobody, nobody);
  const code =
    `import("node:net").then(({ connect }) => { const s = connect(${JSON.stringify(pm.controlSocketPath)}); ` +
    `s.on("connect", () => { console.log("connected"); process.exit(0); }); ` +
    `s.on("error", (e) => { console.log(e.code); process.exit(0); }); });`;
  const args = "Deno" in globalThis ? ["eval", code] : ["-e", code];
  const output = execFileSync(runtime, args, {
    uid: nobody,
    gid: nobody,
    cwd: home,
    env: { HOME: home, DENO_DIR: join(home, "deno"), PATH: process.env.PATH ?? "/usr/bin:/bin" },
    encoding: "utf8",
  }).trim();
  assert.equal(output, "EACCES", "the 0700 directory keeps every other user out");
});
