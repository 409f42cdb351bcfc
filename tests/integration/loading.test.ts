import assert from "node:assert/strict";
import { dirname, relative } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BGWH_STARTED, BGWH_STOPPED } from "../../mod.ts";
import { fixture, FIXTURES, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";

const FIXTURES_PATH = fileURLToPath(FIXTURES);
const FIXTURES_DIR = dirname(FIXTURES_PATH);
const relativeToCwd = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? rel : `./${rel}`;
};

const FORMS: [string, string, string[]][] = [
  ["an absolute path", FIXTURES_PATH, []],
  ["a file: URL", FIXTURES, []],
  ["a path relative to the postmaster's working directory", relativeToCwd(FIXTURES_PATH), []],
  ["a bare name looked up in dynamicLibraryPath, suffix appended", "workers", ["/nonexistent-dir", FIXTURES_DIR]],
  ["a bare name with its suffix, in a dynamicLibraryPath entry relative to the working directory", "workers.ts", [
    relativeToCwd(FIXTURES_DIR),
  ]],
];

for (const [what, library, dynamicLibraryPath] of FORMS) {
  test(`real processes: bgw_library_name as ${what} loads and runs the function`, async () => {
    const { pm, notes, logs, until } = realPostmaster({ dynamicLibraryPath });
    await pm.start();
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("loaded", "returnAtOnce", { bgw_library_name: library, bgw_notify_pid: pm.pid }),
    )!;
    await until(
      "the worker to finish",
      () => notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STOPPED),
    );
    assert.ok(notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STARTED));
    assert.ok(logs.includes('DEBUG1:  unregistering background worker "loaded"'), logs.join("\n"));
    assert.ok(
      logs.some((l) => /^DEBUG1: {2}background worker "loaded" \(PID \d+\) exited with exit code 0$/.test(l)),
      logs.join("\n"),
    );
    assert.ok(!logs.some((l) => l.startsWith("FATAL")), logs.join("\n"));
    await pm.stop();
  });
}

const BROKEN: [string, Partial<Record<"bgw_library_name" | "bgw_function_name", string>>, RegExp][] = [
  [
    "a bare name in no dynamicLibraryPath directory",
    { bgw_library_name: "no_such_library" },
    /^FATAL: {2}could not access file "no_such_library" for background worker "broken" \(library "no_such_library", function "returnAtOnce"\): not found in dynamicLibraryPath$/,
  ],
  [
    "a module path that does not exist",
    { bgw_library_name: "./no/such/module.ts" },
    /^FATAL: {2}could not load library "\.\/no\/such\/module\.ts" for background worker "broken" \(library "\.\/no\/such\/module\.ts", function "returnAtOnce"\): /,
  ],
  [
    "a missing export",
    { bgw_function_name: "noSuchFunction" },
    /^FATAL: {2}could not find function "noSuchFunction" in file ".*workers\.ts" for background worker "broken" \(library ".*workers\.ts", function "noSuchFunction"\)$/,
  ],
  [
    "a module that throws on import",
    {
      bgw_library_name: new URL("../fixtures/throws_on_import.ts", import.meta.url).href,
      bgw_function_name: "neverReached",
    },
    /^FATAL: {2}could not load library ".*throws_on_import\.ts" for background worker "broken" \(library ".*throws_on_import\.ts", function "neverReached"\): .*this library refuses to load/,
  ],
];

for (const [what, overrides, fatal] of BROKEN) {
  test(`real processes: ${what} makes the worker exit 1 with a log line naming library and function; it restarts per its interval and the postmaster keeps serving`, async () => {
    const { pm, notes, logs, until } = realPostmaster();
    await pm.start();
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("broken", "returnAtOnce", { ...overrides, bgw_restart_time: 0.1, bgw_notify_pid: pm.pid }),
    )!;
    const exits = () =>
      logs.filter((l) => /^LOG: {2}background worker "broken" \(PID \d+\) exited with exit code 1$/.test(l)).length;
    await until("two failed runs", () => exits() >= 2);
    assert.ok(logs.filter((l) => fatal.test(l)).length >= 2, `expected ${fatal} twice in:\n${logs.join("\n")}`);
    pm.terminateBackgroundWorker(handle);
    assert.equal(await pm.waitForBackgroundWorkerShutdown(handle), BGWH_STOPPED);
    const next = pm.registerDynamicBackgroundWorker(fixture("healthy", "returnAtOnce", { bgw_notify_pid: pm.pid }))!;
    await until(
      "a healthy worker to run",
      () => notes.some((n) => sameHandle(n.handle, next) && n.status === BGWH_STOPPED),
    );
    assert.ok(logs.includes('DEBUG1:  unregistering background worker "healthy"'), logs.join("\n"));
    await pm.stop();
  });
}

test("real processes: sharedPreloadLibraries are imported at start(), _PG_init gets the postmaster, and its static worker runs", async () => {
  const library = new URL("../fixtures/preload.ts", import.meta.url).href;
  const { seen } = await import(library) as typeof import("../fixtures/preload.ts");
  const { pm, logs, until } = realPostmaster({ sharedPreloadLibraries: [library] });
  assert.equal(seen.postmasters.length, 0, "nothing happens before start()");
  await pm.start();
  assert.equal(seen.postmasters.length, 1);
  assert.equal(seen.postmasters[0], pm);
  await until(
    "the preloaded worker to finish",
    () => logs.includes('DEBUG1:  unregistering background worker "preloaded"'),
  );
  assert.ok(logs.includes('DEBUG1:  registering background worker "preloaded"'), logs.join("\n"));
  assert.ok(logs.includes('DEBUG1:  starting background worker process "preloaded"'), logs.join("\n"));
  await pm.stop();
});

test("real processes: a sharedPreloadLibraries module that cannot load makes start() reject with its name, and nothing starts", async () => {
  const { pm } = realPostmaster({ sharedPreloadLibraries: ["./no/such/preload.ts"] });
  await assert.rejects(pm.start(), /could not load library "\.\/no\/such\/preload\.ts"/);
  assert.deepEqual(pm.backgroundWorkers(), []);
});
