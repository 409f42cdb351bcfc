/**
 * The life of a worker process, PostgreSQL's `BackgroundWorkerMain`: wait
 * for the start parameters, rebuild `myBgworkerEntry` from them, report in,
 * import the library, run the function, and turn the outcome into an exit
 * code. The wiring of signals and of the channel is set up here, once; what
 * they do lives in signals.ts and channel.ts. The start path writes the
 * worker's state and imports nothing of the public API: the API subscribes
 * to the state (see state.ts).
 *
 * @module
 */

import { errorText } from "../errors.ts";
import type { StartMessage } from "../protocol.ts";
import { SegmentAttachment } from "../shmem/attachment.ts";
import { type BackgroundWorkerEntry, rebuildWorkerEntry } from "../worker_spec.ts";
import { listenToPostmaster } from "./channel.ts";
import { elog } from "./elog.ts";
import type { WorkerPort } from "./port.ts";
import { deliverSignal, HANDLED_SIGNALS } from "./signals.ts";
import { installSigtermListener } from "./sigterm_route.ts";
import { exitWorker, updateWorkerState, workerState } from "./state.ts";

export { ORPHAN_GRACE_MS } from "./channel.ts";

/**
 * What the entry point of a worker process adds to the bootstrap.
 *
 * @example
 * ```ts
 * import type { BootstrapOptions } from "./bootstrap.ts";
 * const options: BootstrapOptions = { preload: [new URL("../../worker.js", import.meta.url).href] };
 * ```
 */
export interface BootstrapOptions {
  /** Module URLs to import once booted, while a spare waits: `bgworker/worker`, which every worker imports. */
  preload?: string[];
}

/**
 * Run this process as a background worker over `port`. Never returns: the
 * process ends with the worker.
 *
 * @example
 * ```ts
 * import { runBackgroundWorker } from "./bootstrap.ts";
 * import { createProcessWorkerPort } from "../../runtimes/shared/worker_port.ts";
 * runBackgroundWorker(createProcessWorkerPort());
 * ```
 */
export function runBackgroundWorker(port: WorkerPort, options: BootstrapOptions = {}): void {
  const state = workerState();
  updateWorkerState({ port });
  for (const signal of HANDLED_SIGNALS) {
    // SIGTERM's listener may come and go (sigterm_route.ts); the others stay for the life of the process.
    if (signal === "SIGTERM") installSigtermListener(port, () => deliverSignal(signal));
    else port.onSignal(signal, () => deliverSignal(signal));
  }
  port.onUncaught((error) => fatal(`uncaught error in background worker: ${errorText(error)}`));
  listenToPostmaster(port, {
    start: (message) => {
      startWorker(port, message).catch((error) => {
        // Thrown after an exit was asked for (a runtime whose exit waits for a message to be written lets code run on): not news.
        if (state.exitCode === null) fatal(`uncaught error in background worker: ${errorText(error)}`);
      });
    },
    ping: (message) =>
      warmUp(port, [...(options.preload ?? []), ...safeLibraries(message.libraries)], message.sharedMemory),
  });
  // Booted: a spare now waits for its start message, a cold-started worker already has it on the way.
  void port.send({ type: "ready" });
}

/**
 * Ready a spare for its start while nothing is waiting: import the modules
 * every worker imports, and run the start path's pure code on a sample
 * entry, so the one real start runs compiled code, not the interpreter's
 * first pass (which cost more than the rest of a spare's start together).
 */
/** The ping's libraries, if they are a list of strings (the channel is not trusted further than that). */
function safeLibraries(libraries: unknown): string[] {
  return Array.isArray(libraries) ? libraries.filter((url): url is string => typeof url === "string") : [];
}

function warmUp(port: WorkerPort, preload: readonly string[], sharedMemory: boolean): void {
  // Modules every worker imports anyway, and the libraries listed for spares: loaded now, the start does not wait
  // for them (the runtime keeps each module's namespace, so the worker's own import of its library finds it).
  // An import that fails here is left for the start, which imports again and reports it.
  for (const url of preload) void port.importModule(url).catch(() => {});
  // The runtime's foreign function interface, should this spare's worker map shared memory.
  if (sharedMemory) void port.sharedMemory().catch(() => {});
  const sample = '{"bgw_name":"warm-up","bgw_type":"warm-up","bgw_flags":0,"bgw_start_time":0,"bgw_restart_time":-1,' +
    '"bgw_library_name":"file:///warm-up.js","bgw_function_name":"main","bgw_main_arg":{"bigint":"1"},"bgw_extra":"00ff","bgw_notify_pid":0}';
  for (let i = 0; i < 3; i++) rebuildWorkerEntry(sample);
}

async function startWorker(
  port: WorkerPort,
  { entry: encoded, libraryUrl, postmasterPid, title, sharedMemory, database, cluster, slot, generation }: StartMessage,
): Promise<void> {
  const state = workerState();
  let entry: BackgroundWorkerEntry;
  try {
    entry = rebuildWorkerEntry(encoded);
  } catch (error) {
    return fatal(`could not rebuild the background worker's start parameters: ${errorText(error)}`);
  }
  // Before the library is imported: its top level may read myBgworkerEntry.
  updateWorkerState({
    entry,
    postmasterPid,
    database: database ?? null,
    cluster: cluster ?? null,
    handle: { slot, generation },
  });
  port.setTitle(title);
  const unavailable = sharedMemory && "unavailable" in sharedMemory ? sharedMemory.unavailable : null;
  const segment = sharedMemory && !("unavailable" in sharedMemory) ? sharedMemory : null;
  if (unavailable) state.shmemUnavailable = unavailable;
  // Loading the runtime's mapper overlaps with reporting in (a failure is reported below, not as uncaught).
  const mapper = segment ? port.sharedMemory() : null;
  mapper?.catch(() => {});
  await port.send({ type: "started" });

  if (segment) {
    // Mapped before the library is imported: module code may already use it.
    try {
      state.shmem = new SegmentAttachment(await mapper!, segment);
    } catch (error) {
      return fatal(`could not attach to shared memory segment "${segment.name}": ${errorText(error)}`);
    }
    // The slot's wait event word becomes this process's: the postmaster reads it when asked, no message per wait.
    const waitEvents = state.shmem.waitEvents;
    if (waitEvents && slot < waitEvents.slots) {
      waitEvents.claimSlot(slot, port.pid);
      state.waitEventStorage = { table: waitEvents, slot };
    }
  }

  const where =
    `for background worker "${entry.bgw_name}" (library "${entry.bgw_library_name}", function "${entry.bgw_function_name}")`;
  if (libraryUrl === null) {
    return fatal(`could not access file "${entry.bgw_library_name}" ${where}: not found in dynamicLibraryPath`);
  }
  let library: Record<string, unknown>;
  try {
    library = await port.importModule(libraryUrl);
  } catch (error) {
    return fatal(`could not load library "${entry.bgw_library_name}" ${where}: ${errorText(error)}`);
  }
  const main = library[entry.bgw_function_name];
  if (typeof main !== "function") {
    return fatal(`could not find function "${entry.bgw_function_name}" in file "${entry.bgw_library_name}" ${where}`);
  }
  try {
    await main(entry.bgw_main_arg);
  } catch (error) {
    // main called procExit and threw on the way out: the code it gave stands.
    if (state.exitCode !== null) return;
    // The message first (PostgreSQL's ERROR line), then where it came from; the postmaster adds whose it is.
    await elog("ERROR", errorWithStack(error));
    return void exitWorker(1);
  }
  exitWorker(0);
}

function fatal(message: string): void {
  // exit waits for the line to be written.
  void elog("FATAL", message);
  exitWorker(1);
}

/** An error's message, then the frames of its stack (the stack's own first line repeats the message). */
function errorWithStack(error: unknown): string {
  const text = errorText(error);
  const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : "";
  const frames = stack.split("\n").filter((line) => /^\s+at /.test(line));
  return frames.length ? `${text}\n${frames.join("\n")}` : text;
}
