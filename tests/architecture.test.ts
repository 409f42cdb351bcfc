/**
 * The architecture of DESIGN.md "Shape", as checks on the source text: sizes
 * (no file under src/ or runtimes/ over 400 lines, no class over 350), who may
 * import whom (src/ only src/; the shared base neither src/postmaster/ nor
 * src/worker/, and those two not each other; runtime leaves never each other,
 * and only runtimes/detect.ts names a leaf), the one file that writes a slot's
 * state, and that every src/ file has a unit test that imports it.
 *
 * Imports are read from the text: a small scanner blanks comments (so the
 * `@example` blocks of TSDoc do not count), string contents, template text and
 * regular expressions, keeping every offset, and a string literal is a module
 * specifier when the code before it is `from`, `import` or `import(`. It
 * reads `import type` and `export … from` too, which is what these rules want:
 * a type import is a dependency between rooms as well.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import {
  classes,
  type Import,
  imports,
  lineAt,
  lineCount,
  ROOT,
  scan,
  source,
  sourceFiles,
  specifierLiterals,
} from "./helpers/source_scan.ts";
const MAX_FILE_LINES = 400;
const MAX_CLASS_LINES = 350;
/** The one file where a slot's `phase` is written. */
const SLOT_TABLE = "src/postmaster/slot_table.ts";
/** Under runtimes/: the code every runtime shares, and the one file that picks a leaf. */
const RUNTIMES_SHARED = "runtimes/shared/";
const RUNTIMES_DETECT = "runtimes/detect.ts";
/** Folders of tests/ that hold no unit tests. */
const NOT_UNIT_TESTS = new Set(["integration", "fixtures", "helpers"]);

const SRC = sourceFiles("src");
const RUNTIMES = sourceFiles("runtimes");
const isUnder = (path: string | null, folder: string) => path !== null && path.startsWith(folder);
const inPostmaster = (path: string | null) => isUnder(path, "src/postmaster/");
const inWorker = (path: string | null) => isUnder(path, "src/worker/");
const inSharedBase = (path: string) => isUnder(path, "src/") && !inPostmaster(path) && !inWorker(path);
/** The runtime leaf a path is in (`node`, `deno`, `bun`, or any other folder of runtimes/ but shared/), or null. */
const leafOf = (path: string | null): string | null => {
  const m = path?.match(/^runtimes\/([^/]+)\//);
  return m && `runtimes/${m[1]}/` !== RUNTIMES_SHARED ? m[1]! : null;
};
const where = (i: Import) => `${i.from}:${i.line} imports "${i.specifier}"`;
const report = (what: string, offenders: string[]) => `${what} (${offenders.length}):\n  ${offenders.join("\n  ")}`;

// ---------------------------------------------------------------- the rules

test(`architecture: no code file of the repo (src/, runtimes/, tests/, examples/, bench/, scripts/) is over ${MAX_FILE_LINES} lines`, () => {
  assert.ok(SRC.length > 0 && RUNTIMES.length > 0, "found no source files under src/ and runtimes/");
  const others = ["tests", "examples", "bench", "scripts"].flatMap((folder) => sourceFiles(folder));
  assert.ok(others.some((path) => path === "tests/architecture.test.ts"), "the other folders were read");
  const offenders = [...SRC, ...RUNTIMES, ...others, "mod.ts", "worker.ts"]
    .map((path) => ({ path, lines: lineCount(source(path).text) }))
    .filter((f) => f.lines > MAX_FILE_LINES)
    .map((f) => `${f.path}: ${f.lines} lines`);
  if (offenders.length > 0) assert.fail(report(`files over ${MAX_FILE_LINES} lines`, offenders));
});

test(`architecture: no class under src/ or runtimes/ is over ${MAX_CLASS_LINES} lines`, () => {
  const all = [...SRC, ...RUNTIMES].flatMap((path) => classes(source(path)).map((c) => ({ path, ...c })));
  assert.ok(all.length > 0, "found no class at all: the scanner is broken");
  const offenders = all
    .filter((c) => c.lines > MAX_CLASS_LINES)
    .map((c) => `${c.path}:${c.line} class ${c.name}: ${c.lines} lines`);
  if (offenders.length > 0) assert.fail(report(`classes over ${MAX_CLASS_LINES} lines`, offenders));
});

test("architecture: src/ imports only src/ (no runtime module, no package, nothing outside src/)", () => {
  const offenders = SRC.flatMap(imports).filter((i) => !isUnder(i.target, "src/")).map(where);
  if (offenders.length > 0) assert.fail(report("imports from src/ of something outside src/", offenders));
});

test("architecture: src/ is type-checked as ECMAScript only (tsconfig.core.json: lib ES2022, no types), in npm run check", () => {
  const core = JSON.parse(readFileSync(join(ROOT, "tsconfig.core.json"), "utf8"));
  assert.deepEqual(core.compilerOptions.lib, ["ES2022"]);
  assert.deepEqual(core.compilerOptions.types, []);
  assert.deepEqual(core.include, ["src"]);
  assert.equal(core.extends, undefined, "the core check must not inherit runtime types");
  assert.match(readFileSync(join(ROOT, "scripts", "check.mjs"), "utf8"), /tsconfig\.core\.json/);
});

test("architecture: src/postmaster/ and src/worker/ never import each other", () => {
  const offenders = SRC.flatMap(imports)
    .filter((i) => (inPostmaster(i.from) && inWorker(i.target)) || (inWorker(i.from) && inPostmaster(i.target)))
    .map(where);
  if (offenders.length > 0) assert.fail(report("imports between src/postmaster/ and src/worker/", offenders));
});

test("architecture: the shared base (src/ outside postmaster/ and worker/) imports neither src/postmaster/ nor src/worker/", () => {
  const offenders = SRC.filter(inSharedBase)
    .flatMap(imports)
    .filter((i) => inPostmaster(i.target) || inWorker(i.target))
    .map(where);
  if (offenders.length > 0) {
    assert.fail(report("imports of src/postmaster/ or src/worker/ from the shared base", offenders));
  }
});

test("architecture: a runtime leaf imports only itself, runtimes/shared/, runtimes/detect.ts and src/ (never another leaf)", () => {
  const offenders = RUNTIMES.filter((path) => leafOf(path) !== null)
    .flatMap(imports)
    .filter((i) =>
      i.target !== null &&
      leafOf(i.target) !== leafOf(i.from) &&
      !isUnder(i.target, RUNTIMES_SHARED) &&
      i.target !== RUNTIMES_DETECT &&
      !isUnder(i.target, "src/")
    )
    .map((i) => `${where(i)}${leafOf(i.target) ? ` (the ${leafOf(i.target)} leaf)` : ""}`);
  if (offenders.length > 0) assert.fail(report("imports from a runtime leaf outside what it may import", offenders));
});

test("architecture: only runtimes/detect.ts names a runtime leaf; runtimes/shared/ and the other files of runtimes/ do not", () => {
  const offenders = RUNTIMES.filter((path) => leafOf(path) === null && path !== RUNTIMES_DETECT)
    .flatMap(imports)
    .filter((i) => leafOf(i.target) !== null)
    .map(where);
  if (offenders.length > 0) assert.fail(report("imports of a runtime leaf from outside runtimes/detect.ts", offenders));
});

test(`architecture: a slot's phase is assigned only in ${SLOT_TABLE}`, () => {
  const files = [...SRC, ...RUNTIMES, ...["mod.ts", "worker.ts"].filter((f) => existsSync(join(ROOT, f)))];
  const offenders: string[] = [];
  for (const path of files) {
    if (path === SLOT_TABLE) continue;
    const { text, code } = source(path);
    // `.phase =` and the compound assignments (`??=` …), not `==` or `===`.
    for (const m of code.matchAll(/(?:\?\.|\.)\s*phase\s*(?:[-+*/%&|^]|\*\*|<<|>>>?|&&|\|\||\?\?)?=(?![=>])/g)) {
      offenders.push(`${path}:${lineAt(text, m.index!)}: ${text.split("\n")[lineAt(text, m.index!) - 1]!.trim()}`);
    }
    // `["phase"] =`: the name is blank in `code`, so it is read from the text at the same offset.
    for (const m of code.matchAll(/\[\s*(["'`]) {5}\1\s*\]\s*=(?![=>])/g)) {
      if (/^\[\s*(["'`])phase\1/.test(text.slice(m.index!))) {
        offenders.push(`${path}:${lineAt(text, m.index!)}: ${text.split("\n")[lineAt(text, m.index!) - 1]!.trim()}`);
      }
    }
  }
  if (offenders.length > 0) assert.fail(report(`assignments of .phase outside ${SLOT_TABLE}`, offenders));
});

test("architecture: every src/ file is imported by at least one unit test (tests/*.test.ts, tests/<dir>/ but integration/, fixtures/, helpers/)", () => {
  const unitTests = sourceFiles(
    "tests",
    (dir, name) => resolve(dir) !== join(ROOT, "tests") || !NOT_UNIT_TESTS.has(name),
  )
    .filter((path) => path.endsWith(".test.ts"));
  assert.ok(unitTests.length > 0, "found no unit test");
  const imported = new Set(unitTests.flatMap(imports).map((i) => i.target));
  const offenders = SRC.filter((path) => !imported.has(path));
  if (offenders.length > 0) assert.fail(report("src/ files no unit test imports", offenders));
});

// ---------------------------------------------------------------- the scanner itself

test("architecture: the scanner reads imports and skips comments, strings, templates and regular expressions", () => {
  const sample = [
    `#!/usr/bin/env node`,
    `import a from "./a.ts";`,
    `import type { B } from './b.ts';`,
    `import {`,
    `  c,`,
    `  type D,`,
    `} from "./c.ts";`,
    `import "./side.ts";`,
    `export * from "./e.ts";`,
    `export { f } from "./f.ts";`,
    `const g = await import("./g.ts");`,
    `type H = typeof import("./h.ts");`,
    `const i = await import(\`./i.ts\`);`,
    `// import x from "./comment.ts";`,
    `/** @example`,
    ` * import { y } from "bgworker";`,
    ` */`,
    `const s = 'import z from "./string.ts"';`,
    'const t = `${`x`} from "./template-text.ts" ${ { from: "./object.ts" }.from }`;',
    `const r = /from "\\.\\/regex.ts"/;`,
    `const q = x / 2; const w = "import('./not-dynamic.ts')";`,
    `const slot = { phase: "a" }; if (slot.phase === "a") slot.phase = "b";`,
    `class Outer<T extends { a: 1 }> extends Base<() => void> {`,
    `  m() { return \`}\${"}"}\`; }`,
    `}`,
  ].join("\n");
  const scanned = scan(sample);
  const { code } = scanned;
  const specifiers = specifierLiterals(scanned).map((l) => l.value);
  assert.deepEqual(specifiers, [
    "./a.ts",
    "./b.ts",
    "./c.ts",
    "./side.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./i.ts",
  ]);
  assert.equal(code.length, sample.length);
  assert.equal(code.split("\n").length, sample.split("\n").length);
  assert.doesNotMatch(code, /comment|bgworker|string\.ts|regex|template-text/);
  assert.match(code, /\{ from: " {11}" \}\.from/, "a template's substitution stays code");
  const outer = code.lastIndexOf("class Outer");
  assert.equal(code.slice(outer).replace(/[^{}]/g, ""), "{}{{}}", "braces inside strings and templates are blank");
  assert.deepEqual(classes({ text: sample, code }), [{ name: "Outer", line: 23, lines: 3 }]);
});
