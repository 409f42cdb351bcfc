/**
 * The main example: a static worker and a dynamic one, a handle, a wait and
 * a terminate. Runs as it stands on every runtime:
 *
 *   npx tsx examples/hello.ts
 *   deno run -A examples/hello.ts
 *   bun run examples/hello.ts
 */
import { type BackgroundWorker, BGW_NEVER_RESTART, BGWH_STARTED, Postmaster } from "../mod.ts";

const hello = (name: string, napUntilTerminated: boolean): BackgroundWorker => ({
  bgw_name: name,
  bgw_type: "hello",
  bgw_flags: 0,
  bgw_start_time: 0,
  bgw_restart_time: BGW_NEVER_RESTART,
  bgw_library_name: new URL("./hello_worker.ts", import.meta.url).href,
  bgw_function_name: "helloMain",
  bgw_main_arg: napUntilTerminated,
});

const pm = new Postmaster({ maxWorkerProcesses: 4 });
pm.registerBackgroundWorker(hello("hello static", false));
await pm.start();

const handle = pm.registerDynamicBackgroundWorker({ ...hello("hello dynamic", true), bgw_notify_pid: pm.pid });
if (!handle) throw new Error("no free worker slot");
const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
console.log(
  `dynamic worker ${status === BGWH_STARTED ? "started" : "did not start"}: handle ${
    JSON.stringify(handle)
  }, PID ${pid}`,
);

pm.terminateBackgroundWorker(handle);
await pm.waitForBackgroundWorkerShutdown(handle);
console.log("dynamic worker stopped");
await pm.stop("fast");
