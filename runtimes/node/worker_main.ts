/**
 * Entry point of every worker process, on Node, Deno and Bun alike: the
 * postmaster spawns this file, then sends the start parameters.
 *
 * @module
 */

import { runBackgroundWorker } from "../../src/worker/bootstrap.ts";
import { releaseClosedChannelDescriptor } from "../deno/channel_descriptor.ts";
import { createNodeWorkerPort } from "./worker_port.ts";

const onDeno = "Deno" in globalThis;
// The public worker API, next to this file's tree in the sources (worker.ts) and in dist/ (worker.js).
const workerApi = new URL(`../../worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href;
runBackgroundWorker(createNodeWorkerPort({ afterDisconnect: onDeno ? releaseClosedChannelDescriptor : undefined }), { preload: [workerApi] });
