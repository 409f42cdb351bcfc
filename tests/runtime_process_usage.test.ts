import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { processUsage } from "../runtimes/shared/process_usage.ts";

test("processUsage: this process's resident memory and CPU from /proc; null for a process that is not there", {
  skip: process.platform === "linux" ? false : "read from Linux's /proc",
}, () => {
  const usage = processUsage(process.pid)!;
  assert.ok(usage.rssBytes > 1_000_000, `rssBytes ${usage.rssBytes}`);
  assert.ok(usage.cpuSeconds > 0 && usage.cpuSeconds < 3600, `cpuSeconds ${usage.cpuSeconds}`);
  assert.equal(processUsage(2 ** 22 + 12345), null);
});
