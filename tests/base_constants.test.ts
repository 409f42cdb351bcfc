import assert from "node:assert/strict";
import { test } from "node:test";
import * as constants from "../src/constants.ts";

// PostgreSQL's names and values (bgworker.h, bgworker_internals.h, latch.h, pg_config_manual.h):
// code ported from C compares against the numbers, not only the names.
const POSTGRESQL: Record<string, number> = {
  BGW_MAXLEN: 96,
  BGW_EXTRALEN: 128,
  MAXPGPATH: 1024,
  BGW_NEVER_RESTART: -1,
  BGW_DEFAULT_RESTART_INTERVAL: 60,
  BGWORKER_SHMEM_ACCESS: 0x0001,
  BGWORKER_BACKEND_DATABASE_CONNECTION: 0x0002,
  BGWORKER_BYPASS_ALLOWCONN: 0x0001,
  BGWORKER_BYPASS_ROLELOGINCHECK: 0x0002,
  BgWorkerStart_PostmasterStart: 0,
  BgWorkerStart_ConsistentState: 1,
  BgWorkerStart_RecoveryFinished: 2,
  BGWH_STARTED: 0,
  BGWH_NOT_YET_STARTED: 1,
  BGWH_STOPPED: 2,
  BGWH_POSTMASTER_DIED: 3,
  WL_LATCH_SET: 1,
  WL_TIMEOUT: 8,
  WL_POSTMASTER_DEATH: 16,
  WL_EXIT_ON_PM_DEATH: 32,
};

test("constants: every PostgreSQL constant has PostgreSQL's value", () => {
  for (const [name, value] of Object.entries(POSTGRESQL)) {
    assert.equal((constants as Record<string, unknown>)[name], value, name);
  }
});

test("constants: the module exports numbers only, each checked above or a later addition with a value", () => {
  for (const [name, value] of Object.entries(constants)) {
    assert.equal(typeof value, "number", name);
    assert.ok(Number.isInteger(value), name);
  }
});

test("constants: flags of one field are distinct single bits, so they combine with |", () => {
  const groups = [
    ["BGWORKER_SHMEM_ACCESS", "BGWORKER_BACKEND_DATABASE_CONNECTION", "BGWORKER_INTERRUPTIBLE"],
    ["BGWORKER_BYPASS_ALLOWCONN", "BGWORKER_BYPASS_ROLELOGINCHECK"],
    ["WL_LATCH_SET", "WL_TIMEOUT", "WL_POSTMASTER_DEATH", "WL_EXIT_ON_PM_DEATH"],
  ];
  for (const group of groups) {
    const bits = group.map((name) => (constants as Record<string, unknown>)[name]).filter((v): v is number =>
      v !== undefined
    );
    assert.ok(bits.length >= 2, group.join(", "));
    let seen = 0;
    for (const bit of bits) {
      assert.equal(bit & (bit - 1), 0, `${bit} is one bit`);
      assert.equal(seen & bit, 0, `${bit} is not used twice in ${group.join(", ")}`);
      seen |= bit;
    }
  }
});
