import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-types="../scripts/check_exports.d.mts"
import { exportMapProblems } from "../scripts/check_exports.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

test("the repository's package.json and deno.json export maps agree", () => {
  assert.deepEqual(exportMapProblems(root), []);
});

test("the export-map check fails when the maps disagree", () => {
  const dir = mkdtempSync(join(tmpdir(), "bgworker-exports-"));
  try {
    const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    deno.exports["./extra"] = "./extra.ts";
    pkg.exports["./worker"].default = "./dist/elsewhere.js";
    pkg.exports["./node"] = { default: pkg.exports["./node"].default, ...pkg.exports["./node"] };
    writeFileSync(join(dir, "deno.json"), JSON.stringify(deno));
    writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
    const problems = exportMapProblems(dir);
    assert.ok(problems.some((p: string) => p.startsWith("subpaths differ")), problems.join("\n"));
    assert.ok(
      problems.some((p: string) => p.startsWith("./worker: default is ./dist/elsewhere.js")),
      problems.join("\n"),
    );
    assert.ok(problems.some((p: string) => p.startsWith("./node: conditions are default")), problems.join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
