// The child of bench/spawn_facilities.ts: say hello, exit when answered.
// Plain JavaScript, so that every runtime boots it without a loader.
import process from "node:process";

process.send({ up: true });
process.once("message", () => process.exit(0));
