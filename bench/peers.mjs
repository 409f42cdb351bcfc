// The peers on Node, in their own process so that PM2's in-process daemon
// and its console output stay out of the suite: cluster.fork → first message,
// and PM2's programmatic start with wait_ready → its callback. The last line
// on stdout is the result as JSON.
import cluster from "node:cluster";
import { mkdtempSync, rmSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, now, progress, repeat } from "./stats.mjs";

const FLOOR_CHILD = fileURLToPath(new URL("./floor_child.mjs", import.meta.url));
const event = (emitter, name) => new Promise((resolve) => emitter.once(name, resolve));

async function clusterForkFirstMessage() {
  cluster.setupPrimary({ exec: FLOOR_CHILD, args: ["hello"], silent: false });
  return median(
    await repeat(async () => {
      const t0 = now();
      const worker = cluster.fork();
      const exited = event(worker, "exit");
      await event(worker, "message");
      const elapsed = now() - t0;
      worker.process.kill("SIGKILL");
      await exited;
      return elapsed;
    }),
  );
}

async function pm2StartWaitReady() {
  const home = mkdtempSync(join(tmpdir(), "bgworker-bench-pm2-"));
  process.env.PM2_HOME = home;
  const pm2 = createRequire(import.meta.url)("pm2");
  const call = (method, ...args) =>
    new Promise((resolve, reject) => pm2[method](...args, (error, value) => error ? reject(error) : resolve(value)));
  await call("connect", true); // no daemon: PM2's God runs in this process and forks the apps itself
  try {
    return median(
      await repeat(async (i) => {
        const name = `bench-${i}`;
        const t0 = now();
        await call("start", {
          script: FLOOR_CHILD,
          args: ["ready"],
          name,
          wait_ready: true,
          listen_timeout: 10_000,
          autorestart: false,
        });
        const elapsed = now() - t0;
        await call("delete", name);
        return elapsed;
      }),
    );
  } finally {
    pm2.disconnect();
    rmSync(home, { recursive: true, force: true });
  }
}

progress(`node${process.versions.node.split(".")[0]}: peers: cluster.fork`);
const clusterFork = await clusterForkFirstMessage();
progress(`node${process.versions.node.split(".")[0]}: peers: PM2 start with wait_ready`);
const pm2Start = await pm2StartWaitReady();
// PM2 takes over console output in this process: write the result to the descriptor itself.
writeSync(1, JSON.stringify({ clusterForkFirstMessage: clusterFork, pm2StartWaitReady: pm2Start }) + "\n");
process.exit(0);
