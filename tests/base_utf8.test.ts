import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8Encode } from "../src/utf8.ts";

// A smoke test only: the UTF-8 functions are tested with the worker spec, which owns them.
test("utf8Encode: ASCII, two-, three- and four-byte characters, as TextEncoder encodes them", () => {
  assert.deepEqual([...utf8Encode("")], []);
  assert.deepEqual([...utf8Encode("a")], [0x61]);
  assert.deepEqual([...utf8Encode("é")], [0xc3, 0xa9]);
  const text = "bgworker é € 😀";
  assert.deepEqual([...utf8Encode(text)], [...new TextEncoder().encode(text)]);
});
