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
import { releaseClosedChannelDescriptor } from "./closed_channel_descriptor.ts";
import { createProcessWorkerPort } from "./worker_port.ts";

// The public worker API, at the root of the tree in the sources (worker.ts) and in dist/ (worker.js).
const workerApi = new URL(`../../worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href;
const afterDisconnect = detectRuntime() === "deno" ? releaseClosedChannelDescriptor : undefined;
runBackgroundWorker(createProcessWorkerPort({ afterDisconnect }), { preload: [workerApi] });
