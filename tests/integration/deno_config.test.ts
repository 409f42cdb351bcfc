/**
 * A Deno postmaster passes its --config (and so its import map) to its
 * workers. Deno is spawned from whichever runtime runs this test: the deno
 * binary comes with `npm install`, so the test is the same everywhere.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const denoBinary = () => "Deno" in globalThis ? process.execPath : join(REPO, "node_modules", ".bin", "deno");

test("a Deno postmaster started with --config gives its workers the same config: a worker imports a specifier only its import map knows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bgw-deno-config-"));
  writeFileSync(join(dir, "alt.json"), JSON.stringify({ imports: { "#greeting": "./greeting.ts" } }));
  writeFileSync(join(dir, "greeting.ts"), `export const greeting = "hello through the import map";\n`);
  writeFileSync(
    join(dir, "worker.ts"),
    `import { greeting } from "#greeting";
import { elog } from ${JSON.stringify(new URL("worker.ts", `file://${REPO}`).href)};
export async function greet() { await elog("LOG", greeting); }
`,
  );
  writeFileSync(
    join(dir, "postmaster.ts"),
    `import { BGWH_STOPPED, Postmaster } from ${JSON.stringify(new URL("mod.ts", `file://${REPO}`).href)};
const lines = [];
const pm = new Postmaster({ logger: (level, message) => lines.push(level + ":  " + message) });
await pm.start();
const handle = pm.registerDynamicBackgroundWorker({
  bgw_name: "greeter", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
  bgw_library_name: "./worker.ts", bgw_function_name: "greet", bgw_notify_pid: pm.pid,
});
await new Promise((resolve) => pm.on("notify", (n) => n.status === BGWH_STOPPED && resolve()));
await pm.stop();
console.log(JSON.stringify(lines));
`,
  );
  const child = spawn(denoBinary(), ["run", "-A", "--config", "alt.json", "postmaster.ts"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => out += chunk);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  const lines = JSON.parse(out.trim().split("\n").at(-1)!) as string[];
  assert.ok(lines.includes("LOG:  hello through the import map"), lines.join("\n"));
});
