import assert from "node:assert/strict";
import { test } from "node:test";
import { Postmaster } from "../../mod.ts";

// The runtime's own Postmaster (mod.ts picks the adapter), so each runtime's entry point is checked too.
const make = (options: Record<string, unknown>) => () => new Postmaster(options as never);

test("Postmaster options are checked strictly on every runtime: unknown names, wrong types, with the option named", () => {
  assert.throws(
    make({ maxWorkerProcess: 2 }),
    (e: unknown) =>
      e instanceof TypeError &&
      /unknown Postmaster option "maxWorkerProcess"; did you mean "maxWorkerProcesses"/.test(e.message),
  );
  assert.throws(make({ max_worker_processes: 2 }), /did you mean "maxWorkerProcesses"/);
  assert.throws(
    make({ restartAfterCrash: "no" }),
    (e: unknown) => e instanceof TypeError && /restartAfterCrash must be true or false/.test(e.message),
  );
  assert.throws(
    make({ sharedPreloadLibraries: "lib.ts" }),
    (e: unknown) => e instanceof TypeError && /sharedPreloadLibraries must be an array of strings/.test(e.message),
  );
  assert.throws(
    make({ logger: "console" }),
    (e: unknown) => e instanceof TypeError && /logger must be a function/.test(e.message),
  );
  assert.throws(
    make({ dynamicLibraryPath: 42 }),
    (e: unknown) =>
      e instanceof TypeError && /dynamicLibraryPath must be an array of strings; got number 42/.test(e.message),
  );
  assert.equal(new Postmaster({ maxWorkerProcesses: 3 }).maxWorkerProcesses, 3, "good options still work");
});
