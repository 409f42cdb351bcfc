// The raw child of the floors: no bgworker at all.
//   hello: send one message, then stay until signalled (SIGTERM's default action kills it)
//   ready: the same, with the message PM2's wait_ready waits for
//   exit:  send one message, then exit 1 at once
const mode = process.argv.at(-1);
if (mode === "exit") {
  process.send("exiting", () => process.exit(1));
} else {
  process.send(mode === "ready" ? "ready" : "hello");
  setInterval(() => {}, 1 << 30);
}
