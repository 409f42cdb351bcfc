/** Hosts of one cluster as separate postmaster processes (tests/fixtures/cluster_host.ts), each driven over its stdin. */
import type { ChildProcess } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive, spawnSameRuntime } from "./same_runtime.ts";

const HOST_SCRIPT = fileURLToPath(new URL("../fixtures/cluster_host.ts", import.meta.url));

/** Where a test's host runs and how. */
export interface HostSpec {
  /** The cluster's database, as this host reaches it (a proxy's URL for a host to cut off). */
  url: string;
  /** The URL its workers connect with; default `url`. */
  workerUrl?: string;
  cluster: string;
  hostId: string;
  leaseMs: number;
  slots: number;
  /** The cluster's cap, or none. */
  cap?: number;
  /** A control socket for the host's postmaster, at this path. */
  controlSocket?: string;
}

/** A running host: call an op, and kill it. */
export interface HostProcess {
  readonly hostId: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Run `op` on the host; rejects with the host's error, or after `ms`. */
  call<T = unknown>(op: string, fields?: Record<string, unknown>, ms?: number): Promise<T>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** The last of what it wrote on stderr (its postmaster's log), for failure messages. */
  log(): string;
}

/** Start a host and wait for it to join; it is killed when the test ends. */
export async function startHost(t: TestContext, spec: HostSpec): Promise<HostProcess> {
  const args = [
    spec.url,
    spec.cluster,
    spec.hostId,
    String(spec.leaseMs),
    String(spec.slots),
    String(spec.cap ?? "none"),
  ];
  if (spec.workerUrl) args.push(spec.workerUrl);
  const env: Record<string, string> = spec.controlSocket ? { BGWORKER_TEST_CONTROL_SOCKET: spec.controlSocket } : {};
  const child = spawnSameRuntime(HOST_SCRIPT, args, { stdin: "pipe", stderr: "pipe", env });
  let stderr = "";
  child.stderr!.on("data", (chunk) => stderr = (stderr + chunk).slice(-20_000));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let ready: (pid: number) => void;
  let failed: (error: Error) => void;
  const readyPromise = new Promise<number>((resolve, reject) => [ready, failed] = [resolve, reject]);
  let buffer = "";
  child.stdout!.on("data", (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = JSON.parse(buffer.slice(0, newline)) as {
        id?: number;
        ready?: boolean;
        pid?: number;
        result?: unknown;
        error?: string;
      };
      buffer = buffer.slice(newline + 1);
      if (line.ready) ready(line.pid!);
      const waiter = line.id === undefined ? undefined : pending.get(line.id);
      if (!waiter) continue;
      pending.delete(line.id!);
      if (line.error !== undefined) waiter.reject(new Error(`${spec.hostId}: ${line.error}`));
      else waiter.resolve(line.result);
    }
  });
  void exited.then(() => {
    failed(new Error(`host ${spec.hostId} exited before it was ready:\n${stderr}`));
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`host ${spec.hostId} exited:\n${stderr.slice(-4000)}`));
    }
    pending.clear();
  });
  const timer = setTimeout(() => failed(new Error(`host ${spec.hostId} not ready in 60 s:\n${stderr}`)), 60_000);
  const pid = await readyPromise.finally(() => clearTimeout(timer));
  let nextId = 1;
  return {
    hostId: spec.hostId,
    pid,
    child,
    exited,
    log: () => stderr.slice(-6000),
    call<T>(op: string, fields: Record<string, unknown> = {}, ms = 60_000): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timeout = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${spec.hostId}: ${op} got no answer in ${ms} ms:\n${stderr.slice(-4000)}`));
        }, ms);
        pending.set(id, {
          resolve: (value) => (clearTimeout(timeout), resolve(value as T)),
          reject: (error) => (clearTimeout(timeout), reject(error)),
        });
        child.stdin!.write(JSON.stringify({ id, op, ...fields }) + "\n");
      });
    },
  };
}

/** Poll `check` every 20 ms until it returns a value other than undefined; rejects after `ms` saying what was awaited. */
export async function pollUntil<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export { isAlive };
