// The raw child of the floors: no bgworker at all.
//   hello: send one message, then stay until signalled (SIGTERM's default action kills it)
//   exit:  send the time, then exit 1 at once
import { now } from "./stats.mjs";

const mode = process.argv.at(-1);
if (mode === "exit") {
  process.send(now(), () => process.exit(1));
} else {
  process.send("hello");
  setInterval(() => {}, 1 << 30);
}
