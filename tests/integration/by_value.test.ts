/**
 * Start parameters travel by value and exactly (issue 12, items 2 and 3):
 * real worker processes report what `main` got and what `myBgworkerEntry`
 * holds, and a string that is not well-formed UTF-16 is refused before any
 * process could fail on it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BackgroundWorkerError, BGW_EXTRALEN, type Datum } from "../../mod.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";

const BY_VALUE = new URL("../fixtures/by_value_workers.ts", import.meta.url).href;

/** What a worker logs (see tests/fixtures/by_value_workers.ts). */
interface Report {
  name: string;
  mainArg: { type: string; text: string };
  entryMainArg: { type: string; text: string };
  extraIsBytes: boolean;
  extra: number[];
}

/** The value a worker's `{ type, text }` stands for; Number("-0") is -0 and Number("NaN") is NaN. */
function revive({ type, text }: { type: string; text: string }): unknown {
  if (type === "number") return Number(text);
  if (type === "bigint") return BigInt(text);
  if (type === "boolean") return text === "true";
  return type === "object" && text === "null" ? null : `${type} ${text}`;
}

function reportsIn(logs: string[], prefix: string): string[] {
  return logs.flatMap((line) => {
    const at = line.indexOf(`${prefix} `);
    return at === -1 ? [] : [line.slice(at + prefix.length + 1)];
  });
}

// The values JSON cannot carry; booleans, null and finite numbers are in tests/worker_spec.test.ts.
// Few workers: each is a process of its own, and the test should take a few seconds.
const DATUMS: Datum[] = [NaN, Infinity, -Infinity, -0, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 64n - 1n];

test("real processes: every kind of Datum and all 256 byte values of bgw_extra reach main and myBgworkerEntry exactly", async () => {
  const h = realPostmaster({ maxWorkerProcesses: DATUMS.length });
  // Worker k carries bytes k*128, k*128+1, ...: the first two hold all 256 values, the others other lengths.
  const lengths = DATUMS.map((_, k) => (k < 2 ? BGW_EXTRALEN : [0, 1, 63, 100, 127][k - 2]!));
  const extras = lengths.map((length, k) => Uint8Array.from({ length }, (_, i) => (k * 128 + i) & 0xff));
  try {
    await h.pm.start();
    DATUMS.forEach((arg, k) => {
      const handle = h.pm.registerDynamicBackgroundWorker(
        fixture(`by value ${k}`, "reportByValue", {
          bgw_library_name: BY_VALUE,
          bgw_main_arg: arg,
          bgw_extra: extras[k],
        }),
      );
      assert.ok(handle, `a slot for worker ${k}`);
    });
    await h.until("every worker's report", () => reportsIn(h.logs, "by_value").length === DATUMS.length);
    const reports = new Map(
      reportsIn(h.logs, "by_value").map((text) => {
        const report = JSON.parse(text) as Report;
        return [report.name, report];
      }),
    );
    DATUMS.forEach((arg, k) => {
      const report = reports.get(`by value ${k}`)!;
      const what = `worker ${k} registered with ${typeof arg} ${Object.is(arg, -0) ? "-0" : String(arg)}`;
      assert.ok(Object.is(revive(report.mainArg), arg), `${what}: main got ${JSON.stringify(report.mainArg)}`);
      assert.ok(
        Object.is(revive(report.entryMainArg), arg),
        `${what}: myBgworkerEntry holds ${JSON.stringify(report.entryMainArg)}`,
      );
      const expected = new Uint8Array(BGW_EXTRALEN);
      expected.set(extras[k]!);
      assert.ok(report.extraIsBytes, `${what}: bgw_extra is a Uint8Array`);
      assert.deepEqual(report.extra, [...expected], `${what}: bgw_extra of ${lengths[k]} bytes`);
    });
    const seen = new Set([...reports.values()].flatMap((r) => r.extra));
    assert.equal(seen.size, 256, "all 256 byte values travelled");
  } finally {
    await h.pm.stop();
  }
});

test("real processes: a lone surrogate in a string field is refused at registration, in the postmaster and in a worker", async () => {
  const h = realPostmaster();
  const bad = fixture("lone \ud800 surrogate", "reportByValue", { bgw_library_name: BY_VALUE });
  const refused = (field: string) => (error: unknown) =>
    error instanceof BackgroundWorkerError && error.field === field;
  try {
    assert.throws(() => h.pm.registerBackgroundWorker(bad), refused("bgw_name"));
    await h.pm.start();
    assert.throws(() => h.pm.registerDynamicBackgroundWorker(bad), refused("bgw_name"));
    assert.throws(
      () => h.pm.registerDynamicBackgroundWorker({ ...bad, bgw_name: "fine", bgw_type: "\udc00" }),
      refused("bgw_type"),
    );
    // The worker passes its main argument, -0, on to a child it registers: worker → postmaster → child.
    const parent = fixture("registers from a worker", "registerFromWorker", {
      bgw_library_name: BY_VALUE,
      bgw_main_arg: -0,
    });
    assert.ok(h.pm.registerDynamicBackgroundWorker(parent), "a slot for the registering worker");
    await h.until(
      "the worker's report and its child's",
      () => reportsIn(h.logs, "from_worker").length === 1 && reportsIn(h.logs, "by_value").length === 1,
    );
    assert.deepEqual(JSON.parse(reportsIn(h.logs, "from_worker")[0]!), {
      bgw_name: { refused: "bgw_name" },
      bgw_type: { refused: "bgw_type" },
      bgw_library_name: { refused: "bgw_library_name" },
      bgw_function_name: { refused: "bgw_function_name" },
      child: { registered: true },
    });
    const child = JSON.parse(reportsIn(h.logs, "by_value")[0]!) as Report;
    assert.equal(child.name, "child of registerFromWorker", "no worker with a lone surrogate ever started");
    assert.ok(Object.is(revive(child.mainArg), -0) && Object.is(revive(child.entryMainArg), -0), JSON.stringify(child));
    assert.deepEqual(child.extra, Array.from({ length: 128 }, (_, i) => 255 - i));
  } finally {
    await h.pm.stop();
  }
});
