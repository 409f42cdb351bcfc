import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_LOG_LINES, parseControlRequest } from "../src/control_protocol.ts";

test("control protocol: each op is parsed with its defaults; anything else is an error that never throws", () => {
  assert.deepEqual(parseControlRequest('{"id":1,"op":"ps"}'), { id: 1, op: "ps" });
  assert.deepEqual(parseControlRequest('{"op":"stop"}'), { id: undefined, op: "stop", mode: "fast" });
  assert.deepEqual(parseControlRequest('{"op":"logs"}'), {
    id: undefined,
    op: "logs",
    lines: 100,
    follow: false,
    name: null,
  });
  assert.deepEqual(parseControlRequest('{"id":7,"op":"terminate","handle":{"slot":2,"generation":5}}'), {
    id: 7,
    op: "terminate",
    handle: { slot: 2, generation: 5 },
  });
  for (
    const [line, error] of [
      ["garbage", "not JSON"],
      ["[1]", "not a JSON object"],
      ['{"op":"format"}', 'unknown op "format"'],
      ['{"op":"stop","mode":"gentle"}', "stop's mode must be smart, fast or immediate"],
      ['{"op":"terminate","handle":{"slot":-1,"generation":0}}', "terminate needs a handle { slot, generation }"],
      [`{"op":"logs","lines":${MAX_LOG_LINES + 1}}`, `logs' lines must be a whole number from 0 to ${MAX_LOG_LINES}`],
      ['{"op":"logs","name":5}', "logs' name must be a string"],
      ['{"op":{"toString":1}}', "unknown op object"],
    ] as const
  ) {
    assert.deepEqual((parseControlRequest(line) as { error: string }).error, error, line);
  }
  assert.equal(
    (parseControlRequest('{"id":9,"op":"nope"}') as { id?: number }).id,
    9,
    "the id is kept for the error reply",
  );
});
