/**
 * Entry point of every worker process, on Node, Deno and Bun alike: the
 * postmaster spawns this file (see bootstrap_path.ts), then sends the start
 * parameters. What differs by runtime is decided here, at run time, through
 * detect.ts: a Node postmaster may start Deno and Bun workers from this
 * same file.
 *
 * @module
 */

import { runBackgroundWorker } from "../../src/worker/bootstrap.ts";
import { detectRuntime } from "../detect.ts";
import { createProcessWorkerPort } from "./worker_port.ts";
import { typeScriptPreload, withTypeScriptLoader } from "./worker_typescript.ts";

// The public worker API, at the root of the tree in the sources (worker.ts) and in dist/ (worker.js).
const workerApi = new URL(`../../worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href;
// Deno's workaround only, loaded before anything can disconnect. Imported statically, its node:fs cost Bun
// 2.5 ms of the 5 ms its bootstrap adds to a bare process; Deno pays for the dynamic import within noise (< 1 ms).
const afterDisconnect = detectRuntime() === "deno"
  ? (await import("./closed_channel_descriptor.ts")).releaseClosedChannelDescriptor
  : undefined;
// Read (and removed from the environment) before any worker code runs; a spare imports the preload once booted.
const preload = [workerApi, ...typeScriptPreload(import.meta.url)];
runBackgroundWorker(withTypeScriptLoader(createProcessWorkerPort({ afterDisconnect })), { preload });
