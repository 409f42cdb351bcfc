/** Start a script on the runtime (and loaders) this test runs on, and tell whether a process is alive. */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { loaderFlags } from "../../runtimes/node/command.ts";
import { processExists } from "../../runtimes/shared/process_exists.ts";

export function spawnSameRuntime(
  script: string,
  scriptArgs: string[] = [],
  options: { stderr?: "pipe" | "inherit"; stdin?: "pipe" | "ignore"; env?: Record<string, string> } = {},
): ChildProcess {
  const args = "Deno" in globalThis
    ? ["run", "-A", "--no-prompt", script]
    : "Bun" in globalThis
    ? [script]
    : [...loaderFlags(process.execArgv), script];
  args.push(...scriptArgs);
  const env = { ...process.env, ...options.env };
  delete env.NODE_TEST_CONTEXT;
  return spawn(process.execPath, args, {
    stdio: [options.stdin ?? "ignore", "pipe", options.stderr ?? "inherit"],
    env,
  });
}

/** The first line a child prints on stdout; rejects after `ms`. */
export function firstLine(child: ChildProcess, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no line on stdout in ${ms} ms: ${out}`)), ms);
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      resolve(out.slice(0, out.indexOf("\n")));
    });
  });
}

/** Alive and not a zombie: a re-parented worker may sit unreaped under an init that does not reap. */
export const isAlive = processExists;
