// A postmaster for the kill figure: starts 8 napping workers, prints their
// pids as a JSON line, and waits to be killed with SIGKILL.
import { BGW_NEVER_RESTART, Postmaster } from "../dist/mod.js";

const pm = new Postmaster({ logger: () => {} });
await pm.start();
const pids = [];
// With "busy", the last worker never yields: it cannot notice the postmaster's death itself.
const busy = process.argv.includes("busy");
for (let i = 0; i < 8; i++) {
  const handle = pm.registerDynamicBackgroundWorker({
    bgw_name: `napper ${i}`,
    bgw_flags: 0,
    bgw_start_time: 0,
    bgw_restart_time: BGW_NEVER_RESTART,
    bgw_library_name: new URL("./workers.mjs", import.meta.url).href,
    bgw_function_name: busy && i === 7 ? "spin" : "nap",
    bgw_notify_pid: pm.pid,
  });
  pids.push(handle);
}
for (let i = 0; i < pids.length; i++) pids[i] = (await pm.waitForBackgroundWorkerStartup(pids[i])).pid;
process.stdout.write(JSON.stringify(pids) + "\n");
