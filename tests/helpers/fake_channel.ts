/** A worker's channel in memory, for the process layer's tests. */
import { Duplex } from "node:stream";

/** What the postmaster writes (`written`), and a readable side to push the worker's bytes into (`channel.push`). */
export function fakeChannel() {
  const written: string[] = [];
  const channel = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      written.push(String(chunk));
      callback();
    },
  });
  return { channel, written };
}
