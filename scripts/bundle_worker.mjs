// After tsc has built dist/, replace the worker side with one bundle graph:
// the worker entry (bgworker/worker) and the bootstrap every worker process
// runs share one chunk, so a worker boots with three module loads instead of
// about twenty, and the user's `import ... from "bgworker/worker"` gets the
// very module instances the bootstrap set up.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { root } from "./runtimes.mjs";

// runtimes/detect.ts names each runtime's mod.ts (the postmaster's side) for the root mod.ts. No
// worker loads one, but esbuild would still copy each one's whole graph into chunks: keep them out,
// pointing at tsc's files instead. The path is relative to the chunks' folder, runtimes/shared/.
const leafModulesStayOut = {
  name: "leaf-modules-stay-out",
  setup(build) {
    build.onResolve(
      { filter: /^\.\/(node|deno|bun)\/mod\.ts$/ },
      (args) =>
        args.importer.endsWith(join("runtimes", "detect.ts"))
          ? { path: `../${args.path.slice(2, -3)}.js`, external: true }
          : undefined,
    );
  },
};

await build({
  absWorkingDir: root,
  entryPoints: ["worker.ts", "runtimes/shared/worker_main.ts"],
  outdir: join(root, "dist"),
  outbase: root,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  // Next to the worker entry (runtimes/shared/worker_main.js, where bootstrap_path.js points), like the
  // runtime mappers that detect.ts loads on demand, which end up as chunks here too.
  chunkNames: "runtimes/shared/worker-[hash]",
  // A native module, loaded at run time only when shared memory is used (runtimes/node/shm_mapper.ts).
  // The PostgreSQL client too: a package of its own, loaded only by workers that connect.
  external: ["koffi", "postgres"],
  plugins: [leafModulesStayOut],
  logLevel: "warning",
});

// tsc's source maps describe the files this replaced.
for (const map of ["worker.js.map", "runtimes/shared/worker_main.js.map"]) {
  rmSync(join(root, "dist", map), { force: true });
}
