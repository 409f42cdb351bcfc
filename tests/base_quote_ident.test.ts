import assert from "node:assert/strict";
import { test } from "node:test";
import { quoteIdent } from "../src/quote_ident.ts";

test("quoteIdent: every name in double quotes, even one that would not need them", () => {
  assert.equal(quoteIdent("worker_spi"), '"worker_spi"');
  assert.equal(quoteIdent("Mixed Case"), '"Mixed Case"');
  assert.equal(quoteIdent("select"), '"select"');
  assert.equal(quoteIdent(""), '""');
  assert.equal(quoteIdent("schéma"), '"schéma"');
});

test("quoteIdent: embedded double quotes are doubled, so any name stays one identifier", () => {
  assert.equal(quoteIdent('my "odd" role'), '"my ""odd"" role"');
  assert.equal(quoteIdent('"'), '""""');
  assert.equal(quoteIdent('x"; DROP TABLE t; --'), '"x""; DROP TABLE t; --"');
  // Inside the quotes, only doubled quotes remain: strip them and no quote is left.
  const quoted = quoteIdent('a""b"c');
  assert.equal(quoted.slice(1, -1).replaceAll('""', ""), "abc");
});

test("quoteIdent: other characters pass through as they are (single quotes, backslashes, newlines)", () => {
  assert.equal(quoteIdent("it's"), `"it's"`);
  assert.equal(quoteIdent("a\\b"), '"a\\b"');
  assert.equal(quoteIdent("two\nlines"), '"two\nlines"');
});
