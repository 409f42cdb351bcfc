// The control socket's costs (issue 16): the cost of `ps` with 100 workers
// (one request's round trip, and the whole `bgworker ps` command against the
// bare start of the same runtime), and the postmaster's memory with 1,000
// idle control connections (opened by a child process, so that only the
// postmaster's own memory is counted).
//
//   npm run build && node bench/control_socket.mjs
import { spawn } from "node:child_process";
import { connect } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Postmaster } from "../dist/mod.js";
import { median, now, progress } from "./stats.mjs";

const WORKERS = new URL("./workers.mjs", import.meta.url).href;
const CLI = fileURLToPath(new URL("../dist/runtimes/shared/cli/main.js", import.meta.url));
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

const pm = new Postmaster({ controlSocket: true, maxWorkerProcesses: 100, logger: () => {} });
await pm.start();
progress("starting 100 napping workers");
const handles = Array.from({ length: 100 }, (_, i) =>
  pm.registerDynamicBackgroundWorker({
    bgw_name: `napper ${i}`,
    bgw_flags: 0,
    bgw_start_time: 0,
    bgw_restart_time: -1,
    bgw_library_name: WORKERS,
    bgw_function_name: "nap",
    bgw_notify_pid: pm.pid,
  }));
for (const handle of handles) await pm.waitForBackgroundWorkerStartup(handle);
const path = pm.controlSocketPath;

/** One `ps` request's round trip on an open connection, in ms. */
async function psRoundTrips(count) {
  const socket = connect(path);
  await new Promise((resolve) => socket.once("connect", resolve));
  let buffered = "";
  let wake = null;
  socket.on("data", (chunk) => {
    buffered += chunk;
    if (buffered.endsWith("\n")) wake?.();
  });
  const times = [];
  for (let i = 0; i < count; i++) {
    buffered = "";
    const started = now();
    const replied = new Promise((resolve) => wake = resolve);
    socket.write(JSON.stringify({ id: i, op: "ps" }) + "\n");
    await replied;
    times.push(now() - started);
  }
  const bytes = buffered.length;
  socket.destroy();
  return { ms: median(times), bytes };
}

/** A command's wall time, in ms; spawned, not run synchronously: the postmaster in this process must answer it. */
const timeCommand = async (args) => {
  const started = now();
  const child = spawn(process.execPath, args, { stdio: "ignore" });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}`);
  return now() - started;
};

progress("ps round trips");
const ps = await psRoundTrips(50);
progress("bgworker ps, and the runtime's bare start");
const command = [];
const bare = [];
for (let i = 0; i < 7; i++) {
  command.push(await timeCommand([CLI, "ps", "--socket", path]));
  bare.push(await timeCommand(["-e", ""]));
}

progress("1,000 idle connections from another process");
const before = rssMiB();
const holder = spawn(process.execPath, [
  "-e",
  `const { connect } = require("node:net"); let open = 0; const all = [];
   for (let i = 0; i < 1000; i++) { const s = connect(${
    JSON.stringify(path)
  }); s.on("error", () => {}); s.on("connect", () => { if (++open === 1000) console.log("open"); }); s.on("close", () => {}); all.push(s); }
   setInterval(() => {}, 1000);`,
], { stdio: ["ignore", "pipe", "inherit"] });
await new Promise((resolve) => holder.stdout.once("data", resolve));
await new Promise((resolve) => setTimeout(resolve, 500)); // let the postmaster accept and refuse them all
const during = rssMiB();
holder.kill("SIGKILL");
await new Promise((resolve) => holder.once("exit", resolve));
await new Promise((resolve) => setTimeout(resolve, 500));
const after = rssMiB();

await pm.stop("fast");
const result = {
  runtime: `node ${process.versions.node}`,
  psRoundTripMs: ps.ms,
  psReplyBytes: ps.bytes,
  bgworkerPsMs: median(command),
  bareStartMs: median(bare),
  rssMiB: { before, during, after },
};
console.log(JSON.stringify(result));
