#!/usr/bin/env node
/**
 * The `bgworker` command (package.json's `bin`): look at and control the
 * postmasters that listen on a control socket. Runs on Node 20+, Deno and
 * Bun; see `bgworker --help`.
 *
 * @module
 */

import process from "node:process";
import { processIo } from "./io.ts";
import { runCli } from "./run.ts";

process.exitCode = await runCli(process.argv.slice(2), processIo());
