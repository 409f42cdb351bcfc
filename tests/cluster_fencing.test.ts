// The host's side of a lease (src/cluster/fencing.ts), on a fake clock: the
// deadline counts from the renewal's send time, less drift and margin; a
// late answer never shortens it; a loss ends it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fenceDeadline, LeaseFence, renewIntervalMs } from "../src/cluster/fencing.ts";

test("fencing: the deadline is the send time plus the lease, less the drift allowance and the margin", () => {
  assert.equal(fenceDeadline(1_000, { leaseMs: 10_000, marginMs: 2_000, maxDriftRate: 0.01 }), 8_900);
  // Defaults: a fifth of the lease as margin, 1 % drift.
  assert.equal(fenceDeadline(0, { leaseMs: 10_000 }), 7_900);
  assert.equal(renewIntervalMs({ leaseMs: 10_000 }), 2_633);
});

test("fencing: timings that leave no lease are refused, naming the value", () => {
  assert.throws(() => fenceDeadline(0, { leaseMs: 0 }), {
    name: "RangeError",
    message: /leaseMs must be positive; got 0/,
  });
  assert.throws(() => fenceDeadline(0, { leaseMs: 1000, maxDriftRate: 1 }), /maxDriftRate must be at least 0/);
  assert.throws(() => fenceDeadline(0, { leaseMs: 1000, marginMs: 990 }), /marginMs must be .*; got 990/);
  assert.throws(() => new LeaseFence(() => 0, { leaseMs: -5 }), RangeError);
});

test("fencing: a fence holds from a successful renewal until its deadline, on the caller's clock", () => {
  let now = 0;
  const fence = new LeaseFence(() => now, { leaseMs: 1_000, marginMs: 200, maxDriftRate: 0 });
  assert.equal(fence.holds(), false, "nothing is held before the first join");
  const sentAt = fence.sending();
  now = 150; // the answer came back 150 ms later: the deadline still counts from the send
  fence.renewed(sentAt);
  assert.equal(fence.msLeft(), 650);
  now = 799;
  assert.equal(fence.holds(), true);
  now = 800;
  assert.equal(fence.holds(), false, "at the deadline the workers must be stopped");
});

test("fencing: a late answer to an older renewal never shortens the deadline; a loss ends it at once", () => {
  let now = 0;
  const fence = new LeaseFence(() => now, { leaseMs: 1_000, marginMs: 0, maxDriftRate: 0 });
  const first = fence.sending();
  now = 300;
  const second = fence.sending();
  fence.renewed(second);
  fence.renewed(first); // answered out of order
  assert.equal(fence.msLeft(), 1_000);
  fence.lost();
  assert.equal(fence.holds(), false);
  assert.equal(fence.msLeft(), -Infinity);
});
