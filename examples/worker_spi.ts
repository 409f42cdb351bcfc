/**
 * The shape of PostgreSQL's worker_spi, without the database:
 * `workerSpiLaunch` registers a dynamic worker, waits for its start and
 * returns its pid (or null when no slot is free); it is called N times; the
 * workers nap on their latches and count; a settings change followed by
 * `reloadConfiguration()` (SIGHUP) makes them reload. Runs as it stands:
 *
 *   npx tsx examples/worker_spi.ts
 *   deno run -A examples/worker_spi.ts
 *   bun run examples/worker_spi.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BGW_NEVER_RESTART, BGWH_STARTED, Postmaster } from "../mod.ts";
import { eventLog } from "./event_log.ts";
import type { WorkerSpiSettings } from "./worker_spi_worker.ts";

const LAUNCHES = 3;

/** worker_spi_launch(i): register, wait for the start, and return the pid, or null when no slot is free. */
export async function workerSpiLaunch(pm: Postmaster, index: number, settingsPath: string): Promise<number | null> {
  const handle = pm.registerDynamicBackgroundWorker({
    bgw_name: `worker_spi dynamic worker ${index}`,
    bgw_type: "worker_spi dynamic",
    bgw_flags: 0,
    bgw_start_time: 0,
    bgw_restart_time: BGW_NEVER_RESTART,
    bgw_library_name: new URL("./worker_spi_worker.ts", import.meta.url).href,
    bgw_function_name: "workerSpiMain",
    bgw_main_arg: index,
    bgw_extra: new TextEncoder().encode(settingsPath),
    bgw_notify_pid: pm.pid,
  });
  if (!handle) return null;
  const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
  return status === BGWH_STARTED ? pid : null;
}

const dir = mkdtempSync(join(tmpdir(), "worker_spi-"));
const settingsPath = join(dir, "worker_spi.json");
const writeSettings = (settings: WorkerSpiSettings) => writeFileSync(settingsPath, JSON.stringify(settings));
writeSettings({ naptime: 0.2 });

// Every step below waits for what the workers say, not for the clock.
const { lines, record, until } = eventLog();
const pm = new Postmaster({ maxWorkerProcesses: LAUNCHES, logger: (level, message) => level !== "DEBUG1" && record(`${level}:  ${message}`) });
const linesOf = (index: number, text: string) => lines.filter((l) => l.startsWith(`LOG:  worker_spi ${index}: ${text}`)).length;
const everyWorker = (test: (index: number) => boolean) => () => Array.from({ length: LAUNCHES }, (_, i) => i + 1).every(test);

await pm.start();
for (let index = 1; index <= LAUNCHES; index++) {
  console.log(`workerSpiLaunch(${index}) = ${await workerSpiLaunch(pm, index, settingsPath)}`);
}
console.log(`workerSpiLaunch(${LAUNCHES + 1}) = ${await workerSpiLaunch(pm, LAUNCHES + 1, settingsPath)} (every slot is taken)`);

await until(everyWorker((i) => linesOf(i, "count is now") >= 2));
writeSettings({ naptime: 0.05 });
pm.reloadConfiguration();
await until(everyWorker((i) => linesOf(i, "reloaded configuration") >= 1));
await pm.stop("fast");
rmSync(dir, { recursive: true, force: true });
