import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnSameRuntime } from "../helpers/same_runtime.ts";

/** Run an example on this test's runtime to its end; a bound stops one that hangs. */
function runExample(name: string, boundMs = 60_000): Promise<{ code: number | null; output: string }> {
  const child = spawnSameRuntime(fileURLToPath(new URL(`../../examples/${name}`, import.meta.url)), [], {
    stderr: "pipe",
  });
  let output = "";
  child.stdout!.on("data", (chunk) => output += chunk);
  child.stderr!.on("data", (chunk) => output += chunk);
  const timer = setTimeout(() => child.kill("SIGKILL"), boundMs);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test("example hello.ts: a static and a dynamic worker, a handle, a wait and a terminate", async () => {
  const { code, output } = await runExample("hello.ts");
  assert.equal(code, 0, output);
  assert.match(output, /hello from "hello static", PID \d+/);
  assert.match(output, /dynamic worker started: handle \{"slot":\d+,"generation":\d+\}, PID \d+/);
  assert.match(output, /dynamic worker stopped/);
});

test("example supervision.ts: a failing worker restarts after its interval; a shared-memory crash restarts the others", async () => {
  const { code, output } = await runExample("supervision.ts");
  assert.equal(code, 0, output);
  assert.ok(
    (output.match(/ERROR: {2}lost the connection to an upstream service/g)?.length ?? 0) >= 2,
    output,
  );
  assert.match(output, /LOG: {2}terminating any other active server processes/);
  assert.match(output, /LOG: {2}all server processes terminated; reinitializing/);
  assert.equal(output.match(/steady \(PID \d+\) is up/g)?.length, 2, output);
  assert.match(output, /LOG: {2}database system is shut down/);
});

test("example worker_spi.ts: static workers and workerSpiLaunch(4) on the embedded cluster; SIGHUP moves the delta into the total", async () => {
  const { code, output } = await runExample("worker_spi.ts");
  assert.equal(code, 0, output);
  assert.match(output, /worker_spi worker 1 initialized with schema1\.counted/);
  assert.match(output, /worker_spi worker 2 initialized with schema2\.counted/);
  assert.match(output, /workerSpiLaunch\(4\) = \d+/);
  assert.match(output, /worker_spi dynamic worker 4: count in schema4\.counted is now 1/);
  assert.match(output, /schema4\.counted: total\|1\n/);
  assert.doesNotMatch(output, /schema4\.counted: delta/);
  assert.match(output, /LOG: {2}embedded database stopped/);
});

test("example shared_counter.ts: workers count into one struct with Atomics and under an LWLock; the postmaster's snapshots are consistent", async () => {
  const { code, output } = await runExample("shared_counter.ts");
  assert.equal(code, 0, output);
  assert.equal(output.match(/hit counter \d \(PID \d+\) counted 20000 hits/g)?.length, 3, output);
  assert.match(output, /Atomics counter: 60000 hits \(expected 60000\)/);
  assert.match(
    output,
    /ledger under the lock: 60000 hits = 20000 \+ 20000 \+ 20000; all \d+ snapshots taken before they finished were consistent/,
  );
});
