import assert from "node:assert/strict";
import { test } from "node:test";
import { checkPostmasterOptions, describeValue } from "../src/postmaster/options.ts";
import { FakeRuntime } from "./helpers/fake_runtime.ts";

const adapter = new FakeRuntime();
const check = (options: Record<string, unknown>) => checkPostmasterOptions({ adapter, ...options });

test("defaults are PostgreSQL's", () => {
  const o = check({});
  assert.deepEqual(
    [
      o.maxWorkerProcesses,
      o.restartAfterCrash,
      o.recovery,
      o.stopTimeoutMs,
      o.spareWorkerProcesses,
      o.logger,
      o.sharedPreloadLibraries,
    ],
    [8, true, false, 5000, 0, null, []],
  );
  assert.deepEqual(o.database, { embedded: {} });
});

test("an unknown option is a TypeError naming it and the nearest known option", () => {
  assert.throws(
    () => check({ maxWorkerProcess: 2 }),
    (e: unknown) =>
      e instanceof TypeError &&
      /unknown Postmaster option "maxWorkerProcess"; did you mean "maxWorkerProcesses"\?/.test(e.message),
  );
  assert.throws(() => check({ max_worker_processes: 2 }), /did you mean "maxWorkerProcesses"/);
  assert.throws(() => check({ restart_after_crash: false }), /did you mean "restartAfterCrash"/);
  assert.throws(
    () => check({ ["x".repeat(100_000)]: 1 }),
    (e: unknown) => e instanceof TypeError && e.message.length < 300,
  );
});

test("a wrong type is a TypeError naming the option and what it must be", () => {
  assert.throws(
    () => check({ restartAfterCrash: "no" }),
    (e: unknown) =>
      e instanceof TypeError && /restartAfterCrash must be true or false; got the string "no"/.test(e.message),
  );
  assert.throws(
    () => check({ sharedPreloadLibraries: "lib.ts" }),
    (e: unknown) => e instanceof TypeError && /sharedPreloadLibraries must be an array of strings/.test(e.message),
  );
  assert.throws(
    () => check({ sharedPreloadLibraries: ["a.ts", 3] }),
    /sharedPreloadLibraries\[1\] must be a non-empty string; got number 3/,
  );
  assert.throws(
    () => check({ logger: "console" }),
    (e: unknown) => e instanceof TypeError && /logger must be a function/.test(e.message),
  );
  assert.throws(
    () => check({ dynamicLibraryPath: 42 }),
    (e: unknown) =>
      e instanceof TypeError && /dynamicLibraryPath must be an array of strings; got number 42/.test(e.message),
  );
  assert.throws(
    () => check({ maxWorkerProcesses: "8" }),
    (e: unknown) => e instanceof TypeError && /maxWorkerProcesses must be an integer/.test(e.message),
  );
  assert.throws(() => check({ recovery: 1 }), TypeError);
  assert.throws(() => check({ stopTimeoutMs: "5s" }), TypeError);
  assert.throws(() => checkPostmasterOptions("fast"), /Postmaster options must be an object/);
});

test("a value out of range is a RangeError; each option is read once", () => {
  assert.throws(() => check({ maxWorkerProcesses: -1 }), RangeError);
  assert.throws(() => check({ stopTimeoutMs: Number.NaN }), RangeError);
  let reads = 0;
  const options = {
    adapter,
    get maxWorkerProcesses() {
      return ++reads === 1 ? 2 : -5;
    },
  };
  assert.equal(checkPostmasterOptions(options).maxWorkerProcesses, 2);
  assert.equal(reads, 1);
  const list = ["a.ts"];
  const checked = check({ sharedPreloadLibraries: list });
  list.push("b.ts");
  assert.deepEqual(checked.sharedPreloadLibraries, ["a.ts"], "a copy, not the caller's array");
});

test("bad values are quoted short", () => {
  assert.equal(describeValue("x".repeat(1_000_000)).length < 100, true);
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue([1]), "an array");
});
