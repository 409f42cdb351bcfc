// The runtimes the project runs on, and how to reach each from a fresh
// `npm install`: the machine's Node, Node 24 from the npm registry, and the
// deno and bun binaries that their npm packages ship.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const bin = (name) => join(root, "node_modules", ".bin", name);
export const tsxCli = join(root, "node_modules", "tsx", "dist", "cli.mjs");

const NODE24_DIR = join(root, ".cache", "node24");

/** Path of a Node 24 binary, fetched from the npm registry on first use. */
export function node24() {
  const pkg = `node-${process.platform}-${process.arch}`;
  const binary = join(NODE24_DIR, "node_modules", pkg, "bin", "node");
  if (!existsSync(binary)) {
    console.log(`fetching ${pkg}@24 from the npm registry into .cache/node24`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const r = spawnSync(npm, [
      "install",
      "--prefix",
      NODE24_DIR,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      `${pkg}@24`,
    ], { stdio: "inherit" });
    if (r.status !== 0 || !existsSync(binary)) throw new Error(`could not install ${pkg}@24 from the npm registry`);
  }
  return binary;
}

/** Run a command, echoing its output live (unless quiet) and returning it with the exit code. */
export function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? root,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const echo = (chunk) => {
      output += chunk;
      if (!options.quiet) process.stdout.write(chunk);
    };
    child.stdout.on("data", echo);
    // stderrLive: show progress (stderr) as it comes even when the output is kept quiet.
    child.stderr.on("data", options.stderrLive ? (chunk) => process.stderr.write(chunk) : echo);
    const timer = options.timeoutMs
      ? setTimeout(() => {
        output += `\n(killed after ${options.timeoutMs / 1000} s)\n`;
        process.stdout.write(`\n${command}: killed after ${options.timeoutMs / 1000} s\n`);
        child.kill("SIGKILL");
      }, options.timeoutMs)
      : null;
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? 128, signal, output });
    });
  });
}
