import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BGW_EXTRALEN,
  BGW_NEVER_RESTART,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_SHMEM_ACCESS,
} from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import * as utf8 from "../src/utf8.ts";
import { decodeWorkerEntry, encodeWorkerEntry, utf8ByteLength, validateBackgroundWorker } from "../src/worker_spec.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

interface BadCase {
  what: string;
  input: Record<string, unknown>;
  field: string;
  message: RegExp;
  dynamicToo?: boolean;
}

const long = "x".repeat(96);
const BAD: BadCase[] = [
  {
    what: "bgw_name over BGW_MAXLEN - 1 bytes",
    input: { bgw_name: long },
    field: "bgw_name",
    message: /bgw_name is too long/,
  },
  {
    what: "bgw_name over the limit in UTF-8 bytes only",
    input: { bgw_name: "é".repeat(48) },
    field: "bgw_name",
    message: /96 bytes; the limit is 95/,
  },
  {
    what: "bgw_type over BGW_MAXLEN - 1 bytes",
    input: { bgw_type: long },
    field: "bgw_type",
    message: /bgw_type is too long/,
  },
  {
    what: "bgw_function_name over BGW_MAXLEN - 1 bytes",
    input: { bgw_function_name: long },
    field: "bgw_function_name",
    message: /too long/,
  },
  {
    what: "bgw_library_name over MAXPGPATH - 1 bytes",
    input: { bgw_library_name: "/" + "l".repeat(1023) },
    field: "bgw_library_name",
    message: /too long/,
  },
  {
    what: "empty bgw_function_name",
    input: { bgw_function_name: "" },
    field: "bgw_function_name",
    message: /non-empty string/,
  },
  {
    what: "bgw_extra over BGW_EXTRALEN bytes",
    input: { bgw_extra: new Uint8Array(BGW_EXTRALEN + 1) },
    field: "bgw_extra",
    message: /bgw_extra is too long/,
  },
  {
    what: "bgw_extra that is not bytes",
    input: { bgw_extra: [1, 2, 3] },
    field: "bgw_extra",
    message: /must be a Uint8Array/,
  },
  {
    what: "bgw_main_arg as an object",
    input: { bgw_main_arg: { n: 1 } },
    field: "bgw_main_arg",
    message: /pass it in bgw_extra or shared memory/i,
  },
  {
    what: "bgw_main_arg as a string",
    input: { bgw_main_arg: "text" },
    field: "bgw_main_arg",
    message: /must be passed by value.*Pass it in bgw_extra or shared memory/s,
  },
  {
    what: "bgw_main_arg as a function",
    input: { bgw_main_arg: () => 1 },
    field: "bgw_main_arg",
    message: /a function; a Datum is/,
  },
  {
    what: "bgw_main_arg bigint over 64 bits",
    input: { bgw_main_arg: 2n ** 64n },
    field: "bgw_main_arg",
    message: /does not fit in a Datum/,
  },
  {
    what: "database connection without shared memory access",
    input: { bgw_flags: BGWORKER_BACKEND_DATABASE_CONNECTION, bgw_start_time: 2 },
    field: "bgw_flags",
    message: /must attach to shared memory in order to request a database connection/,
  },
  {
    what: "database connection at PostmasterStart",
    input: { bgw_flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION, bgw_start_time: 0 },
    field: "bgw_start_time",
    message: /cannot request database access if starting at postmaster start/,
  },
  {
    what: "negative restart interval",
    input: { bgw_restart_time: -2 },
    field: "bgw_restart_time",
    message: /invalid restart interval/,
  },
  {
    what: "NaN restart interval",
    input: { bgw_restart_time: NaN },
    field: "bgw_restart_time",
    message: /invalid restart interval/,
  },
  {
    what: "restart interval over a thousand days",
    input: { bgw_restart_time: 86_400_001 },
    field: "bgw_restart_time",
    message: /invalid restart interval/,
  },
  {
    what: "restart interval as a string",
    input: { bgw_restart_time: "10" },
    field: "bgw_restart_time",
    message: /invalid restart interval/,
  },
  {
    what: "unknown flag bits",
    input: { bgw_flags: 0x10 },
    field: "bgw_flags",
    message: /combination of BGWORKER_SHMEM_ACCESS/,
  },
  {
    what: "unknown start time",
    input: { bgw_start_time: 3 },
    field: "bgw_start_time",
    message: /bgw_start_time must be/,
  },
  {
    what: "misspelt field",
    input: { bgw_restart_tme: 1 },
    field: "bgw_restart_tme",
    message: /unknown field "bgw_restart_tme"/,
  },
  { what: "negative notify pid", input: { bgw_notify_pid: -1 }, field: "bgw_notify_pid", message: /process id or 0/ },
];

for (const bad of BAD) {
  test(`registration refuses ${bad.what}, naming worker and field, and keeps what was registered`, async () => {
    const { pm, runtime } = fakePostmaster({ maxWorkerProcesses: 3 });
    pm.registerBackgroundWorker(worker("kept"));
    const input = { ...worker("bad one"), ...bad.input };
    for (
      const register of [
        () => pm.registerBackgroundWorker(input as never),
        () => pm.registerDynamicBackgroundWorker(input as never),
      ]
    ) {
      assert.throws(register, (error: unknown) => {
        assert.ok(error instanceof BackgroundWorkerError, String(error));
        assert.equal(error.name, "BackgroundWorkerError");
        assert.equal(error.field, bad.field);
        assert.equal(error.code, "invalid_parameter_value");
        assert.match(`${error.message} ${error.detail ?? ""}`, bad.message);
        const expectedName =
          typeof input.bgw_name === "string" && input.bgw_name.length < 96 && !input.bgw_name.includes("é")
            ? input.bgw_name
            : undefined;
        if (expectedName) assert.match(error.message, new RegExp(`^background worker "${expectedName}": `));
        return true;
      });
    }
    // Nothing was lost and the postmaster still works.
    pm.registerBackgroundWorker(worker("after"));
    assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), ["kept", "after"]);
    await pm.start();
    assert.deepEqual(runtime.spawned.map((p) => p.entryName), ["kept", "after"]);
  });
}

test("a static worker may not ask for notifications", () => {
  const { pm } = fakePostmaster();
  assert.throws(() => pm.registerBackgroundWorker(worker("static", { bgw_notify_pid: pm.pid })), (error: unknown) => {
    assert.ok(error instanceof BackgroundWorkerError, String(error));
    assert.equal(error.field, "bgw_notify_pid");
    assert.match(error.message, /only dynamic background workers can request notification/);
    return true;
  });
});

test("registration of a non-object is refused with a typed error", () => {
  const { pm } = fakePostmaster();
  for (const input of [null, 42, "w", [worker("a")]]) {
    assert.throws(() => pm.registerDynamicBackgroundWorker(input as never), BackgroundWorkerError);
  }
});

test("a dynamic notify pid must name a process of the cluster", () => {
  const { pm } = fakePostmaster();
  assert.throws(
    () => pm.registerDynamicBackgroundWorker(worker("d", { bgw_notify_pid: 424242 })),
    /names no process of this cluster/,
  );
});

test("names are measured in UTF-8 bytes, the limit is inclusive", () => {
  assert.equal(utf8ByteLength("aé€😀"), 1 + 2 + 3 + 4);
  const entry = validateBackgroundWorker(worker("x".repeat(95)), { dynamic: false });
  assert.equal(entry.bgw_name.length, 95);
});

test("validation fills defaults and freezes a private copy", () => {
  const extra = new Uint8Array([1, 2, 3]);
  const entry = validateBackgroundWorker(worker("w", { bgw_extra: extra }), { dynamic: true });
  assert.equal(entry.bgw_type, "w");
  assert.equal(entry.bgw_main_arg, null);
  assert.equal(entry.bgw_notify_pid, 0);
  assert.equal(entry.bgw_extra.length, BGW_EXTRALEN);
  extra[0] = 99;
  assert.equal(entry.bgw_extra[0], 1, "registration took the value of bgw_extra, not the buffer");
  assert.ok(Object.isFrozen(entry), "the entry is frozen");
});

test("entries travel by value: encode and decode round-trip every Datum kind and bgw_extra", () => {
  for (const arg of [null, 0, -1.5, true, false, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n]) {
    const extra = new Uint8Array(BGW_EXTRALEN).map((_, i) => (i * 7) & 0xff);
    const entry = validateBackgroundWorker(
      worker("round trip", {
        bgw_main_arg: arg,
        bgw_extra: extra,
        bgw_restart_time: BGW_NEVER_RESTART,
        bgw_type: "kind",
      }),
      { dynamic: true },
    );
    const encoded = encodeWorkerEntry(entry);
    assert.equal(typeof encoded, "string");
    const copy = decodeWorkerEntry(encoded);
    assert.deepEqual(copy, entry);
    assert.notEqual(copy.bgw_extra, entry.bgw_extra);
  }
});

test("a decoded entry is validated again: a tampered string is refused", () => {
  const entry = validateBackgroundWorker(worker("w"), { dynamic: true });
  const tampered = encodeWorkerEntry(entry).replace('"bgw_restart_time":10', '"bgw_restart_time":-5');
  assert.throws(() => decodeWorkerEntry(tampered), /invalid restart interval/);
});

test("utf8Encode agrees with TextEncoder, lone surrogates included", async () => {
  const { utf8Encode } = await import("../src/utf8.ts");
  for (const text of ["", "abc", "aé€😀", "\ud800x", "x\udfff"]) {
    assert.deepEqual(utf8Encode(text), new TextEncoder().encode(text), text);
  }
});

// Issue 12, items 2–4: the registration data is read once, refused when it
// cannot travel, and reaches the worker exactly as it was registered.

const STRING_FIELDS = ["bgw_name", "bgw_type", "bgw_library_name", "bgw_function_name"] as const;
const LONE = ["\ud800", "a\udc00b", "x\udbff", "\udfff\ud800", "😀\ud83d"];

test("a lone surrogate in any string field is refused at registration, naming the field, and the message stays well-formed", () => {
  for (const field of STRING_FIELDS) {
    for (const text of LONE) {
      const input = worker("w", { [field]: text });
      for (
        const register of [
          () => validateBackgroundWorker(input, { dynamic: true }),
          () => fakePostmaster().pm.registerDynamicBackgroundWorker(input),
          // What a worker sends over its channel: JSON escapes the lone surrogate, decoding must refuse it too.
          () =>
            decodeWorkerEntry(
              JSON.stringify({
                ...worker("w"),
                bgw_type: "w",
                bgw_main_arg: null,
                bgw_extra: "",
                bgw_notify_pid: 0,
                [field]: text,
              }),
            ),
        ]
      ) {
        assert.throws(register, (error: unknown) => {
          assert.ok(error instanceof BackgroundWorkerError, `${field} ${JSON.stringify(text)}: ${String(error)}`);
          assert.equal(error.field, field);
          assert.match(error.message, /UTF-16/);
          for (const part of [error.message, error.worker, error.detail ?? ""]) {
            assert.ok(utf8.isWellFormedUtf16(part), JSON.stringify(part));
          }
          return true;
        });
      }
    }
  }
  // A surrogate pair is a character like any other.
  assert.equal(validateBackgroundWorker(worker("😀 ok"), { dynamic: true }).bgw_name, "😀 ok");
});

test("error messages quote at most about 80 characters of a bad value", () => {
  const huge = "m".repeat(1 << 20);
  const inputs: Record<string, unknown>[] = [
    { bgw_name: huge },
    { bgw_name: huge, bgw_flags: -1 },
    { bgw_name: huge + "\ud800" },
    { bgw_type: huge },
    { bgw_function_name: huge },
    { bgw_main_arg: huge },
    { bgw_flags: 10n ** 100_000n },
    { [huge]: 1 },
  ];
  for (const input of inputs) {
    assert.throws(() => validateBackgroundWorker({ ...worker("w"), ...input }, { dynamic: true }), (error: unknown) => {
      assert.ok(error instanceof BackgroundWorkerError, String(error).slice(0, 200));
      assert.ok(error.message.length <= 200, `message of ${error.message.length} characters`);
      assert.ok((error.detail ?? "").length <= 300, `detail of ${error.detail?.length} characters`);
      assert.ok(error.worker.length <= 81 && (error.field ?? "").length <= 81, "worker and field are quoted short too");
      return true;
    });
  }
});
