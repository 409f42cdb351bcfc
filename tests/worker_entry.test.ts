// Start parameters travel by value (src/worker_entry.ts through src/worker_spec.ts): every Datum kind, bgw_extra's
// bytes, malformed input from a worker's channel, and where the code lives.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BGW_EXTRALEN } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import * as utf8 from "../src/utf8.ts";
import {
  type Datum,
  decodeWorkerEntry,
  encodeWorkerEntry,
  rebuildWorkerEntry,
  validateBackgroundWorker,
} from "../src/worker_spec.ts";
import { worker } from "./helpers/fake_runtime.ts";

const DATUMS: Datum[] = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1,
  -1,
  42,
  0.1,
  -1.5,
  1 / 3,
  5e-324,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  0n,
  -1n,
  2n ** 53n + 1n,
  -(2n ** 63n),
  2n ** 63n - 1n,
  2n ** 64n - 1n,
  true,
  false,
  null,
];

test("every Datum kind survives encode → rebuild and encode → decode exactly (Object.is)", () => {
  for (const arg of DATUMS) {
    const entry = validateBackgroundWorker(worker("datum", { bgw_main_arg: arg }), { dynamic: true });
    assert.ok(Object.is(entry.bgw_main_arg, arg), `registration kept ${String(arg)}`);
    const encoded = encodeWorkerEntry(entry);
    for (const copy of [rebuildWorkerEntry(encoded), decodeWorkerEntry(encoded)]) {
      assert.ok(
        Object.is(copy.bgw_main_arg, arg),
        `${typeof arg} ${Object.is(arg, -0) ? "-0" : String(arg)} came back as ${typeof copy.bgw_main_arg} ${
          String(copy.bgw_main_arg)
        }`,
      );
      assert.ok(Object.isFrozen(copy), "the copy is frozen");
    }
  }
});

test("the integer fields hold no -0: registration makes it 0, so it travels as it is kept", () => {
  const entry = validateBackgroundWorker(worker("zeros", { bgw_flags: -0, bgw_restart_time: -0, bgw_notify_pid: -0 }), {
    dynamic: true,
  });
  for (const copy of [entry, rebuildWorkerEntry(encodeWorkerEntry(entry))]) {
    assert.ok(
      Object.is(copy.bgw_flags, 0) && Object.is(copy.bgw_restart_time, 0) && Object.is(copy.bgw_notify_pid, 0),
      "-0 became 0",
    );
  }
});

test("bgw_extra carries all 256 byte values at every length 0–128", () => {
  for (let length = 0; length <= BGW_EXTRALEN; length++) {
    // Enough starting values that every byte value sits in some array of this length, last byte included.
    for (let start = 0; start < 256; start += Math.max(1, Math.min(length, 37))) {
      const extra = Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
      const entry = validateBackgroundWorker(worker("extra", { bgw_extra: extra }), { dynamic: true });
      const encoded = encodeWorkerEntry(entry);
      const expected = new Uint8Array(BGW_EXTRALEN);
      expected.set(extra);
      for (const copy of [rebuildWorkerEntry(encoded), decodeWorkerEntry(encoded)]) {
        assert.ok(copy.bgw_extra instanceof Uint8Array, "bgw_extra is a Uint8Array");
        assert.deepEqual([...copy.bgw_extra], [...expected], `length ${length}, start ${start}`);
      }
    }
  }
});

test("decodeWorkerEntry refuses malformed input from a worker's channel with a BackgroundWorkerError, nothing else", () => {
  const good = JSON.parse(encodeWorkerEntry(validateBackgroundWorker(worker("w"), { dynamic: true }))) as Record<
    string,
    unknown
  >;
  const bad: unknown[] = [
    "{not json",
    "",
    "null",
    "42",
    "[]",
    '"text"',
    "x".repeat(1 << 20),
    JSON.stringify({ ...good, bgw_main_arg: { bigint: "1e5" } }),
    JSON.stringify({ ...good, bgw_main_arg: { bigint: "12abc" } }),
    JSON.stringify({ ...good, bgw_main_arg: { bigint: "9".repeat(100_000) } }),
    JSON.stringify({ ...good, bgw_main_arg: { bigint: 5 } }),
    JSON.stringify({ ...good, bgw_main_arg: { bigint: "1", number: "NaN" } }),
    JSON.stringify({ ...good, bgw_main_arg: { number: "nan" } }),
    JSON.stringify({ ...good, bgw_main_arg: { number: 1 } }),
    JSON.stringify({ ...good, bgw_main_arg: [] }),
    JSON.stringify({ ...good, bgw_extra: "zz" }),
    JSON.stringify({ ...good, bgw_extra: "abc" }),
    JSON.stringify({ ...good, bgw_extra: "0g" }),
    JSON.stringify({ ...good, bgw_extra: "00".repeat(BGW_EXTRALEN + 1) }),
    JSON.stringify({ ...good, bgw_extra: "f".repeat(1 << 20) }),
    JSON.stringify({ ...good, bgw_extra: 5 }),
    JSON.stringify({ ...good, bgw_name: undefined }),
    '{"__proto__":{"bgw_name":"x"}}',
    42,
  ];
  for (const input of bad) {
    assert.throws(() => decodeWorkerEntry(input as string), (error: unknown) => {
      assert.ok(error instanceof BackgroundWorkerError, `${String(input).slice(0, 60)}: ${String(error)}`);
      assert.ok(error.message.length <= 200, `message of ${error.message.length} characters`);
      return true;
    });
  }
});

test("a worker still rebuilds the sample entry its warm-up uses (the encoding's older shape)", () => {
  const sample = '{"bgw_name":"warm-up","bgw_type":"warm-up","bgw_flags":0,"bgw_start_time":0,"bgw_restart_time":-1,' +
    '"bgw_library_name":"file:///warm-up.js","bgw_function_name":"main","bgw_main_arg":{"bigint":"1"},"bgw_extra":"00ff","bgw_notify_pid":0}';
  const entry = rebuildWorkerEntry(sample);
  assert.equal(entry.bgw_main_arg, 1n);
  assert.deepEqual([...entry.bgw_extra.subarray(0, 3)], [0, 0xff, 0]);
});

test("worker_spec.ts is the one import: validation and the by-value encoding are its own files, re-exported under their names", async () => {
  const spec = await import("../src/worker_spec.ts");
  const validation = await import("../src/worker_validation.ts");
  const encoding = await import("../src/worker_entry.ts");
  assert.equal(spec.validateBackgroundWorker, validation.validateBackgroundWorker);
  assert.equal(spec.encodeWorkerEntry, encoding.encodeWorkerEntry);
  assert.equal(spec.decodeWorkerEntry, encoding.decodeWorkerEntry);
  assert.equal(spec.rebuildWorkerEntry, encoding.rebuildWorkerEntry);
  assert.equal(spec.utf8ByteLength, utf8.utf8ByteLength);
  assert.equal(validation.quoteText("q".repeat(1000)), "q".repeat(80) + "…");
  assert.equal(validation.quoteText("a\ud800"), "a\ufffd");
  assert.equal(validation.quoteText("😀".repeat(100)), "😀".repeat(40) + "…", "never half a surrogate pair");
  assert.equal(
    validation.quoteText("x" + "😀".repeat(100)),
    "x" + "😀".repeat(39) + "…",
    "never half a surrogate pair",
  );
});

test("UTF-8 lives in src/utf8.ts: byte length and well-formedness agree with the runtime's own", () => {
  const samples = [
    "",
    "abc",
    "aé€😀",
    "\ud800",
    "x\udfff",
    "\udbff\udfff",
    "\udfff\udbff",
    "😀\ud83d",
    "\ud83d😀",
    "\0",
  ];
  for (const text of samples) {
    assert.equal(utf8.utf8ByteLength(text), new TextEncoder().encode(text).length, JSON.stringify(text));
    const native = (text as unknown as { isWellFormed?: () => boolean }).isWellFormed;
    const wellFormed = native ? native.call(text) : !/\p{Cs}/u.test(text);
    assert.equal(utf8.isWellFormedUtf16(text), wellFormed, JSON.stringify(text));
    const toWellFormed = (text as unknown as { toWellFormed?: () => string }).toWellFormed;
    if (toWellFormed) assert.equal(utf8.toWellFormedUtf16(text), toWellFormed.call(text), JSON.stringify(text));
  }
});
