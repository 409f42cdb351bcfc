/** Start a script on the runtime (and loaders) this test runs on, and tell whether a process is alive. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { loaderFlags } from "../../runtimes/node/command.ts";

export function spawnSameRuntime(script: string, scriptArgs: string[] = [], options: { stderr?: "pipe" | "inherit" } = {}): ChildProcess {
  const args = "Deno" in globalThis
    ? ["run", "-A", "--no-prompt", script]
    : "Bun" in globalThis
    ? [script]
    : [...loaderFlags(process.execArgv), script];
  args.push(...scriptArgs);
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return spawn(process.execPath, args, { stdio: ["ignore", "pipe", options.stderr ?? "inherit"], env });
}

/** Alive and not a zombie: a re-parented worker may sit unreaped under an init that does not reap. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    try {
      process.kill(pid, 0);
      return process.platform !== "linux";
    } catch {
      return false;
    }
  }
}
