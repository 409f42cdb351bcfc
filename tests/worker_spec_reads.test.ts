// Registration reads each field of a hostile object once: getters and Proxies that answer differently on each read.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BackgroundWorkerError } from "../src/errors.ts";
import { validateBackgroundWorker } from "../src/worker_spec.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

const SHORT = "short";
const LONG = "n".repeat(300);

/** A registration whose getters count the reads of every field. */
function countingWorker(): { worker: Record<string, unknown>; reads: Map<string, number> } {
  const values: Record<string, unknown> = {
    ...worker("counted"),
    bgw_type: "kind",
    bgw_main_arg: 1n,
    bgw_extra: new Uint8Array([1, 2]),
    bgw_notify_pid: 0,
  };
  const reads = new Map<string, number>();
  const counted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    Object.defineProperty(counted, key, {
      enumerable: true,
      get: () => {
        reads.set(key, (reads.get(key) ?? 0) + 1);
        return value;
      },
    });
  }
  return { worker: counted, reads };
}

test("validation reads each field of the registration exactly once", () => {
  const { worker: counted, reads } = countingWorker();
  validateBackgroundWorker(counted, { dynamic: true });
  assert.deepEqual(Object.fromEntries(reads), {
    bgw_name: 1,
    bgw_flags: 1,
    bgw_start_time: 1,
    bgw_restart_time: 1,
    bgw_library_name: 1,
    bgw_function_name: 1,
    bgw_type: 1,
    bgw_main_arg: 1,
    bgw_extra: 1,
    bgw_notify_pid: 1,
  });
});

test("a Proxy answering another bgw_name on each read is refused or registered consistently, never over the limit", () => {
  // Which reads answer the 300-byte name: each single read, and every read from the n-th on.
  const patterns: [string, (read: number) => boolean][] = [];
  for (let n = 1; n <= 6; n++) {
    patterns.push([`only read ${n} long`, (read) => read === n], [`reads ${n}+ long`, (read) => read >= n]);
  }
  for (const [what, isLong] of patterns) {
    let read = 0;
    const proxy = new Proxy(worker(SHORT), {
      get: (
        target,
        key,
        receiver,
      ) => (key === "bgw_name" ? (isLong(++read) ? LONG : SHORT) : Reflect.get(target, key, receiver)),
    });
    const { pm } = fakePostmaster();
    let registered = false;
    try {
      pm.registerBackgroundWorker(proxy);
      registered = true;
    } catch (error) {
      assert.ok(error instanceof BackgroundWorkerError, what);
      assert.equal(error.field, "bgw_name", what);
    }
    const names = pm.backgroundWorkers().map((w) => w.bgw_name);
    assert.deepEqual(names, registered ? [SHORT] : [], `${what}: registered ${names.map((n) => n.length)}`);
  }
});

test("a bgw_extra that answers another length on each read, or lies about it, is refused or copied whole, always with a typed error", () => {
  let reads = 0;
  const shifty = new Proxy(new Uint8Array(10), {
    get: (target, key) => (key === "length" ? (++reads === 1 ? 10 : 300) : Reflect.get(target, key, target)),
  });
  // A real Uint8Array whose own `length` says 0: the bytes it holds are what counts.
  const liar = new Uint8Array(300);
  Object.defineProperty(liar, "length", { get: () => 0 });
  for (const extra of [shifty, liar]) {
    assert.throws(
      () => validateBackgroundWorker(worker("w", { bgw_extra: extra }), { dynamic: true }),
      (error: unknown) => {
        assert.ok(error instanceof BackgroundWorkerError, String(error));
        assert.equal(error.field, "bgw_extra");
        return true;
      },
    );
  }
  // A subclass of Uint8Array (a Node Buffer is one) is taken by its real length.
  class Bytes extends Uint8Array {}
  const entry = validateBackgroundWorker(worker("w", { bgw_extra: new Bytes(3).fill(7) }), { dynamic: true });
  assert.deepEqual([...entry.bgw_extra.subarray(0, 4)], [7, 7, 7, 0]);
});
