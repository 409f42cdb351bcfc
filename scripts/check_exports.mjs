// The npm and JSR export maps must name the same entry points: package.json
// maps each deno.json export to its compiled file in dist/, with the
// conditions types, deno, bun, node, default in that order.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const CONDITIONS = ["types", "deno", "bun", "node", "default"];

/** Returns a list of disagreements; empty when the maps agree. */
export function exportMapProblems(root) {
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const problems = [];
  const compiled = (source) => "./dist/" + source.replace(/^\.\//, "").replace(/\.ts$/, ".js");
  const denoKeys = Object.keys(deno.exports).sort();
  const npmKeys = Object.keys(pkg.exports).sort();
  if (JSON.stringify(denoKeys) !== JSON.stringify(npmKeys)) {
    problems.push(`subpaths differ: deno.json has ${denoKeys.join(" ")}; package.json has ${npmKeys.join(" ")}`);
  }
  if (deno.name !== "@bgworker/bgworker") problems.push(`deno.json name is ${deno.name}`);
  if (pkg.name !== "bgworker") problems.push(`package.json name is ${pkg.name}`);
  if (deno.version !== pkg.version) {
    problems.push(`versions differ: deno.json ${deno.version}, package.json ${pkg.version}`);
  }
  for (const key of denoKeys) {
    const entry = pkg.exports[key];
    if (!entry) continue;
    if (JSON.stringify(Object.keys(entry)) !== JSON.stringify(CONDITIONS)) {
      problems.push(
        `${key}: conditions are ${Object.keys(entry).join(", ")}; expected ${CONDITIONS.join(", ")} in that order`,
      );
      continue;
    }
    const js = compiled(deno.exports[key]);
    if (entry.default !== js) {
      problems.push(`${key}: default is ${entry.default}; deno.json's ${deno.exports[key]} compiles to ${js}`);
    }
    if (entry.types !== js.replace(/\.js$/, ".d.ts")) problems.push(`${key}: types is ${entry.types}`);
    for (const runtime of ["deno", "bun", "node"]) {
      // "." resolves straight to the runtime's own entry point; every other subpath to its one file.
      const expected = key === "." ? compiled(deno.exports[`./${runtime}`]) : js;
      if (entry[runtime] !== expected) problems.push(`${key}: ${runtime} is ${entry[runtime]}; expected ${expected}`);
    }
  }
  return problems;
}
