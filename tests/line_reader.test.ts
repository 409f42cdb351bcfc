import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { test } from "node:test";
import { createLineReader } from "../runtimes/shared/line_reader.ts";

function collect(maxBytes: number) {
  const lines: string[] = [];
  let overflows = 0;
  const push = createLineReader(maxBytes, { line: (text) => lines.push(text), overflow: () => overflows++ });
  return {
    lines,
    push: (text: string | Uint8Array) => push(typeof text === "string" ? Buffer.from(text) : text),
    overflows: () => overflows,
  };
}

test("line reader: lines split across chunks and several lines in one chunk come out whole and in order", () => {
  const r = collect(100);
  r.push('{"a":');
  r.push('1}\n{"b":2}\n{"c"');
  r.push(":3}\n");
  assert.deepEqual(r.lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.equal(r.overflows(), 0);
});

test("line reader: a multi-byte character split between chunks decodes intact", () => {
  const r = collect(100);
  const bytes = Buffer.from('"é€😀"\n');
  r.push(bytes.subarray(0, 3));
  r.push(bytes.subarray(3));
  assert.deepEqual(r.lines, ['"é€😀"']);
});

test("line reader: a line at the bound passes, one byte more overflows once and stops all reading", () => {
  const r = collect(8);
  r.push("12345678\n");
  r.push("1234");
  r.push("56789");
  r.push("\nlater\n");
  assert.deepEqual(r.lines, ["12345678"]);
  assert.equal(r.overflows(), 1);
});

test("line reader: a line without end is refused as soon as it passes the bound, before any newline", () => {
  const r = collect(1024);
  for (let i = 0; i < 10 && r.overflows() === 0; i++) r.push(Buffer.alloc(300, 0x61));
  assert.equal(r.overflows(), 1);
  assert.deepEqual(r.lines, []);
});

test("line reader: a chunk whose memory is reused after the call does not corrupt the pending line", () => {
  const r = collect(100);
  const chunk = Buffer.from("abc");
  r.push(chunk);
  chunk.fill(0x7a);
  r.push("def\n");
  assert.deepEqual(r.lines, ["abcdef"]);
});

test("cut mode: a line over the bound is cut there and its rest dropped; reading goes on; end() hands over a last line", () => {
  const lines: [string, boolean][] = [];
  const push = createLineReader(8, {
    line: (text, cut) => lines.push([text, cut]),
    overflow: () => assert.fail("no overflow in cut mode"),
  }, "cut");
  push(Buffer.from("short\n0123456789abc"));
  push(Buffer.from("def\nnext\n"));
  push(Buffer.from("x".repeat(100)));
  push(Buffer.from("y".repeat(100) + "\nafter\nba"));
  push(Buffer.from([0x64, 0xff]));
  push.end();
  assert.deepEqual(lines, [
    ["short", false],
    ["01234567", true],
    ["next", false],
    ["xxxxxxxx", true],
    ["after", false],
    ["bad\uFFFD", false],
  ]);
});
