/** A bare client of the control socket for tests: raw lines in, parsed JSON lines out. */
import { connect, type Socket } from "node:net";

/** A connection whose reply lines are collected in `replies`; `next()` waits for the next one (bounded). */
export async function controlClient(path: string) {
  const socket: Socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const replies: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buffered = "";
  let closed = false;
  socket.on("data", (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      replies.push(JSON.parse(buffered.slice(0, newline)));
      buffered = buffered.slice(newline + 1);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    closed = true;
    for (const wake of waiters.splice(0)) wake();
  });
  let read = 0;
  return {
    socket,
    replies,
    get closed() {
      return closed;
    },
    send(line: string | object) {
      socket.write((typeof line === "string" ? line : JSON.stringify(line)) + "\n");
    },
    /** The next reply line, within `ms`. */
    async next(ms = 10_000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + ms;
      while (read >= replies.length) {
        if (closed) throw new Error("the connection closed");
        if (Date.now() > deadline) throw new Error(`no reply in ${ms} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return replies[read++]!;
    },
    end() {
      socket.destroy();
    },
  };
}
