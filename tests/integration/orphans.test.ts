import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { WL_POSTMASTER_DEATH } from "../../mod.ts";
import { reportFile } from "../helpers/report.ts";
import { firstLine, isAlive, spawnSameRuntime } from "../helpers/same_runtime.ts";

const SCRIPT = fileURLToPath(new URL("../fixtures/orphan_postmaster.ts", import.meta.url));

test("no orphans: after SIGKILL of the postmaster every worker exits within one second; a waitLatch with WL_POSTMASTER_DEATH returns it", async () => {
  const report = reportFile();
  const postmaster = spawnSameRuntime(SCRIPT, [report.path]);
  const line = await firstLine(postmaster);
  const { workers: listed, spawners } = JSON.parse(line) as { workers: number[]; spawners: number[] };
  assert.equal(listed.length, 6, "four workers and two spares");
  // Node spawns workers through a spawner; Deno and Bun spawn them from the postmaster (see runtimes/*/mod.ts).
  const viaSpawner = !("Bun" in globalThis) && !("Deno" in globalThis);
  assert.equal(spawners.length, viaSpawner ? 1 : 0, `the workers' parents other than the postmaster: ${spawners}`);
  const workers = [...listed, ...spawners];
  assert.ok(workers.every(isAlive), "all workers (and the spawner) run before the kill");
  postmaster.kill("SIGKILL");
  const killedAt = Date.now();
  while (workers.some(isAlive) && Date.now() - killedAt < 1000) await new Promise((r) => setTimeout(r, 10));
  const left = workers.filter(isAlive);
  assert.deepEqual(left, [], `workers still alive ${Date.now() - killedAt} ms after the postmaster's SIGKILL`);
  assert.deepEqual(report.read(), { events: WL_POSTMASTER_DEATH, postmasterAlive: false });
});
