/**
 * A loopback TCP proxy between clients and a server that a test can pause:
 * while paused it forwards nothing in either direction but holds the bytes
 * (and accepts new connections without connecting them onward), so a
 * client behind it sees its queries hang, as a host cut off by a network
 * partition does, rather than fail at once. Resuming delivers everything
 * held, in order. Built on node:net, which Node, Deno and Bun implement.
 */
import net from "node:net";

/** A running proxy. */
export interface PausableProxy {
  /** The loopback port it listens on. */
  readonly port: number;
  /** `url` (a postgres:// URL) with its host and port replaced by the proxy's. */
  url(forUrl: string): string;
  /** Stop forwarding in both directions; bytes are held, connections stay open. */
  pause(): void;
  /** Forward again, held bytes first. */
  resume(): void;
  /** Bytes held so far while paused, in each direction: what lets a test wait for a request to be stuck. */
  held(): { toServer: number; toClient: number };
  /** Resolves once at least `bytes` are held toward the server (or the client): no sleeping in tests. */
  untilHeld(direction: "toServer" | "toClient", bytes?: number): Promise<void>;
  /** Close every connection and stop listening. */
  close(): Promise<void>;
}

/**
 * Listen on 127.0.0.1 (a free port) and forward each connection to
 * `targetHost:targetPort`.
 */
export async function startPausableProxy(targetHost: string, targetPort: number): Promise<PausableProxy> {
  let paused = false;
  const counts = { toServer: 0, toClient: 0 };
  const waiters: { direction: "toServer" | "toClient"; bytes: number; resolve: () => void }[] = [];
  const sockets = new Set<net.Socket>();
  /** Per connection: the upstream socket once connected, and bytes each way waiting to be written. */
  const connections: { client: net.Socket; upstream: net.Socket | null; up: Uint8Array[]; down: Uint8Array[] }[] = [];

  const wake = () => {
    for (const w of [...waiters]) {
      if (counts[w.direction] >= w.bytes) waiters.splice(waiters.indexOf(w), 1), w.resolve();
    }
  };
  const flush = (c: (typeof connections)[number]) => {
    if (paused || c.upstream === null || c.upstream.connecting) return;
    while (c.up.length > 0) c.upstream.write(c.up.shift()!);
    while (c.down.length > 0) c.client.write(c.down.shift()!);
  };
  const connectUpstream = (c: (typeof connections)[number]) => {
    const upstream = net.connect(targetPort, targetHost);
    c.upstream = upstream;
    sockets.add(upstream);
    upstream.on("connect", () => flush(c));
    upstream.on("data", (chunk: Uint8Array) => {
      if (paused) counts.toClient += chunk.length, c.down.push(chunk), wake();
      else c.client.write(chunk);
    });
    upstream.on("error", () => c.client.destroy());
    upstream.on("close", () => {
      sockets.delete(upstream);
      c.client.end();
    });
  };

  const server = net.createServer((client) => {
    sockets.add(client);
    const c = { client, upstream: null as net.Socket | null, up: [] as Uint8Array[], down: [] as Uint8Array[] };
    connections.push(c);
    client.on("data", (chunk: Uint8Array) => {
      if (paused || c.upstream === null || c.upstream.connecting) {
        if (paused) counts.toServer += chunk.length, wake();
        c.up.push(chunk);
      } else c.upstream.write(chunk);
    });
    client.on("error", () => c.upstream?.destroy());
    client.on("close", () => {
      sockets.delete(client);
      connections.splice(connections.indexOf(c), 1);
      c.upstream?.end();
    });
    // A connection accepted while paused reaches the server only on resume, as a SYN lost in a partition.
    if (!paused) connectUpstream(c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url(forUrl) {
      const url = new URL(forUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      return url.toString();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const c of connections) {
        if (c.upstream === null) connectUpstream(c);
        else flush(c);
      }
    },
    held: () => ({ ...counts }),
    untilHeld(direction, bytes = 1) {
      return new Promise<void>((resolve) => {
        waiters.push({ direction, bytes, resolve });
        wake();
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
