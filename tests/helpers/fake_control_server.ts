/**
 * A fake postmaster control socket for the `bgworker` command's tests: a
 * node:net server on a Unix socket that speaks src/control_protocol.ts
 * (requests checked with its own parser) and answers with canned data.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type ChildProcess } from "node:child_process";
import { type ControlLogLine, type ControlRequest, parseControlRequest } from "../../src/control_protocol.ts";
import { firstLine, spawnSameRuntime } from "./same_runtime.ts";

export interface FakeServerOptions {
  /** Directory for the socket; a new temporary one by default. */
  dir?: string;
  /** The socket is `<pid>.sock`; default this process's pid (alive, so discovery keeps it). */
  pid?: number;
  workers?: Record<string, unknown>[];
  metrics?: string;
  logs?: ControlLogLine[];
  /** The `cluster` op's answer: its cluster, host id, hosts and workers. */
  cluster?: Record<string, unknown>;
  /** Accept connections but never answer. */
  silent?: boolean;
  /** Answer these ops with `ok: false` and this error. */
  refuse?: Partial<Record<ControlRequest["op"], string>>;
}

export interface FakeServer {
  path: string;
  dir: string;
  pid: number;
  /** Every request received, parsed. */
  requests: ControlRequest[];
  /** Send a log line to every `logs --follow` connection. */
  emitLog(line: ControlLogLine): void;
  /** Resolve once `n` followers are connected. */
  followers(n: number, ms?: number): Promise<void>;
  /** Close every connection (a follower sees the end). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** A fresh temporary directory, as a postmaster's socket directory would be (0700). */
export function tempSocketDir(): string {
  return mkdtempSync(join(tmpdir(), "bgworker-cli-"));
}

export async function startFakeControlServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? tempSocketDir();
  const pid = options.pid ?? process.pid;
  const path = join(dir, `${pid}.sock`);
  const requests: ControlRequest[] = [];
  const followers = new Map<Socket, { id: number | null; name: string | null }>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      followers.delete(socket);
    });
    socket.on("error", () => {});
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("utf8");
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!options.silent) answer(socket, line);
      }
    });
  });
  const send = (socket: Socket, reply: unknown) => socket.write(JSON.stringify(reply) + "\n");
  const answer = (socket: Socket, line: string) => {
    const request = parseControlRequest(line);
    if ("error" in request) return send(socket, { id: request.id ?? null, ok: false, error: request.error });
    requests.push(request);
    const id = request.id ?? null;
    const refusal = options.refuse?.[request.op];
    if (refusal !== undefined) return send(socket, { id, ok: false, error: refusal });
    switch (request.op) {
      case "ps":
        return send(socket, { id, ok: true, postmasterPid: pid, workers: options.workers ?? [] });
      case "metrics":
        return send(socket, { id, ok: true, text: options.metrics ?? "" });
      case "cluster":
        if (!options.cluster) return send(socket, { id, ok: false, error: "this postmaster has no cluster option" });
        return send(socket, { id, ok: true, ...options.cluster });
      case "logs": {
        const matching = (options.logs ?? []).filter((l) => request.name === null || l.worker?.name === request.name);
        send(socket, { id, ok: true, lines: matching.slice(Math.max(0, matching.length - request.lines)) });
        if (request.follow) followers.set(socket, { id, name: request.name });
        return;
      }
      default:
        return send(socket, { id, ok: true });
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    dir,
    pid,
    requests,
    emitLog(line) {
      for (const [socket, { id, name }] of followers) {
        if (name === null || line.worker?.name === name) send(socket, { id, line });
      }
    },
    async followers(n, ms = 10_000) {
      const until = Date.now() + ms;
      while (followers.size < n) {
        if (Date.now() > until) throw new Error(`no ${n} followers within ${ms} ms (${followers.size})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A stale socket: a child on this runtime listens on `<dir>/<its pid>.sock`
 * and is killed with SIGKILL, which leaves the socket file behind with
 * nobody listening and its pid gone.
 */
export async function makeStaleSocket(dir: string): Promise<{ path: string; pid: number }> {
  const child: ChildProcess = spawnSameRuntime(new URL("../fixtures/stale_socket.ts", import.meta.url).pathname, [
    dir,
  ]);
  const path = await firstLine(child);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return { path, pid: child.pid! };
}

/** A worker entry as `ps` sends it, with every field; `overrides` wins. */
export function workerEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    handle: { slot: 0, generation: 1 },
    bgw_name: "importer",
    bgw_type: "importer",
    dynamic: false,
    status: 0,
    pid: 4242,
    state: "running",
    restarts: 0,
    lastExit: null,
    startedAt: Date.now() - 65_000,
    nextRestartAt: null,
    rssBytes: 52 * 1024 * 1024,
    cpuSeconds: 1.25,
    waitEvent: null,
    ...overrides,
  };
}
