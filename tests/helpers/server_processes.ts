/** The embedded server's processes as the tests see them from outside: its pid, its descendants, their deaths. */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { isAlive } from "./same_runtime.ts";
import { connectSql } from "./sql.ts";

/** The bound of every wait for a worker, a start or a query: a hung test fails, it does not hang. */
export const WAIT_MS = 60_000;
/** The bound of the wait for the killed server's processes: well past 1 s plus the watchdog's grace. */
const GONE_BOUND_MS = 3000;
/** The bound of the wait for the killed server's zombies to be reaped by whoever inherited them. */
export const REAP_BOUND_MS = 10_000;

/** Poll `probe` until it returns a value, within `ms`. */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = WAIT_MS,
): Promise<T> {
  const since = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - since > ms) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The Unix socket directory of the server at `url`, as the server says. */
export async function socketDirectory(url: string): Promise<string> {
  const sql = connectSql(url);
  try {
    const [row] = await sql<{ unix_socket_directories: string }[]>`show unix_socket_directories`;
    const directory = row!.unix_socket_directories;
    assert.ok(directory.startsWith("/"), `a Unix socket directory: ${directory}`);
    return directory;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The server's pid, from the first line of `postmaster.pid` in its data directory. */
export function serverPidIn(dataDir: string): number {
  return Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n", 1)[0]);
}

/**
 * Every process of the server: the server and its descendants (backends,
 * checkpointer, walwriter…, each of which PostgreSQL makes the leader of a
 * process group of its own). Read from Linux's /proc; elsewhere, the
 * server's own pid.
 */
export function serverProcesses(serverPid: number): number[] {
  if (!existsSync("/proc/self/stat")) return [serverPid];
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (ppid !== null) parents.set(Number(name), ppid);
  }
  const found = [serverPid];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === found[i]) found.push(pid);
  }
  return found;
}

/** Gone for good: signal 0 finds no such process (not even a zombie that its new parent has yet to reap). */
export function reaped(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "ESRCH";
  }
}

/** The numbers of a postmaster's "embedded database is ready … started in N ms" line. */
export function startedMs(logs: string[]): number {
  const line = logs.find((l) => /^LOG: {2}embedded database is ready at /.test(l));
  const ms = /started in (\d+) ms\)$/.exec(line ?? "")?.[1];
  assert.ok(ms, `a "started in N ms" line:\n${logs.join("\n")}`);
  return Number(ms);
}

/**
 * SIGKILL the child postmaster and measure the milliseconds until none of
 * `pids` runs (a zombie no longer runs: processExists's rule), bounded by
 * GONE_BOUND_MS, and until none exists at all, reaped by whoever inherited
 * it (here the machine's init), bounded by REAP_BOUND_MS, reported only.
 * Then wait for the child's exit.
 */
export async function killAndTime(
  { child, exited }: { child: ChildProcess; exited: Promise<void> },
  pids: number[],
): Promise<{ exitedMs: number; reapedMs: number | null }> {
  process.kill(child.pid!, "SIGKILL");
  const killedAt = Date.now();
  const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
  while (pids.some(isAlive) && Date.now() - killedAt <= GONE_BOUND_MS) await pause();
  const exitedMs = Date.now() - killedAt;
  assert.deepEqual(pids.filter(isAlive), [], `server processes still running ${exitedMs} ms after the SIGKILL`);
  while (!pids.every(reaped) && Date.now() - killedAt <= REAP_BOUND_MS) await pause();
  const reapedMs = pids.every(reaped) ? Date.now() - killedAt : null;
  // The child itself is this process's to reap: its pid no longer counts as a live postmaster's.
  await exited;
  return { exitedMs, reapedMs };
}

/** A process's parent, from /proc; null when it is gone (or there is no /proc). */
export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command's closing parenthesis: state, ppid.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** A process's command line as `ps` shows it (its title, where it set one); "" when it is gone. */
export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}
