/**
 * PostgreSQL's worker_spi, ported (examples/worker_spi_worker.ts), on the
 * embedded cluster: two static workers from `sharedPreloadLibraries`, then
 * `workerSpiLaunch(4)`, a `delta` row counted into the `total` one when
 * SIGHUP wakes the workers, as worker_spi's TAP test does it. Runs as it
 * stands, with nothing installed but the package:
 *
 *   npx tsx examples/worker_spi.ts
 *   deno run -A examples/worker_spi.ts
 *   bun run examples/worker_spi.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { Postmaster } from "../mod.ts";
import { eventLog } from "./event_log.ts";
import { setWorkerSpiConfigFile, workerSpiLaunch, type WorkerSpiSettings } from "./worker_spi_worker.ts";

// postgresql.conf's stand-in. A naptime of an hour: below, only SIGHUP makes the workers count.
const dir = mkdtempSync(join(tmpdir(), "worker_spi-"));
const settingsFile = join(dir, "worker_spi.json");
writeFileSync(
  settingsFile,
  JSON.stringify({ naptime: 3600, total_workers: 2, database: "postgres" } satisfies WorkerSpiSettings),
);
setWorkerSpiConfigFile(settingsFile);

// Every step waits for what the workers log, not for the clock.
const { lines, record, until } = eventLog();
const logged = (text: string) => () => lines.some((line) => line.includes(text));
const pm = new Postmaster({
  maxWorkerProcesses: 8,
  sharedPreloadLibraries: [new URL("./worker_spi_worker.ts", import.meta.url).href],
  logger: (level, message) => level !== "DEBUG1" && record(`${level}:  ${message}`),
});
await pm.start(); // starts the embedded cluster, then the static workers
await until(logged("worker_spi worker 2 initialized with schema2.counted"));

const pid = await workerSpiLaunch(4);
console.log(`workerSpiLaunch(4) = ${pid}`);
await until(logged("worker_spi dynamic worker 4 initialized with schema4.counted"));

const sql = postgres(await pm.connectionUrl(), { max: 1, onnotice: () => {} });
await sql`insert into schema4.counted values ('total', 0), ('delta', 1)`;
pm.reloadConfiguration(); // SIGHUP: every worker wakes and counts once
await until(logged("worker_spi dynamic worker 4: count in schema4.counted is now 1"));
for (const { type, value } of await sql`select type, value from schema4.counted`) {
  console.log(`schema4.counted: ${type}|${value}`);
}

await sql.end();
await pm.stop("fast");
rmSync(dir, { recursive: true, force: true });
