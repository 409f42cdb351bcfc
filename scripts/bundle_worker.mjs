// After tsc has built dist/, replace the worker side with one bundle graph:
// the worker entry (bgworker/worker) and the bootstrap every worker process
// runs share one chunk, so a worker boots with three module loads instead of
// about twenty, and the user's `import ... from "bgworker/worker"` gets the
// very module instances the bootstrap set up.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { root } from "./runtimes.mjs";

await build({
  absWorkingDir: root,
  entryPoints: ["worker.ts", "runtimes/node/worker_main.ts"],
  outdir: join(root, "dist"),
  outbase: root,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  chunkNames: "runtimes/node/worker-[hash]",
  // A native module, loaded at run time only when shared memory is used (runtimes/node/shm_mapper.ts).
  // The PostgreSQL client too: a package of its own, loaded only by workers that connect.
  external: ["koffi", "postgres", "@electric-sql/pglite", "@electric-sql/pglite-socket"],
  logLevel: "warning",
});

// tsc's source maps describe the files this replaced.
for (const map of ["worker.js.map", "runtimes/node/worker_main.js.map"]) rmSync(join(root, "dist", map), { force: true });
