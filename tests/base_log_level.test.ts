import assert from "node:assert/strict";
import { test } from "node:test";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../src/log_level.ts";

test("LOG_LEVELS: PostgreSQL's message levels bgworker uses, least severe first", () => {
  assert.deepEqual([...LOG_LEVELS], ["DEBUG1", "LOG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL"]);
});

test("isLogLevel: true for every level", () => {
  for (const level of LOG_LEVELS) {
    assert.equal(isLogLevel(level), true, level);
    const typed: LogLevel = level;
    assert.equal(typed, level);
  }
});

test("isLogLevel: false for other names, other cases and non-strings from the wire", () => {
  for (
    const value of ["PANIC", "DEBUG", "DEBUG5", "log", "Warning", "", " LOG", 1, null, undefined, ["LOG"], {
      level: "LOG",
    }]
  ) {
    assert.equal(isLogLevel(value), false, JSON.stringify(value));
  }
});
