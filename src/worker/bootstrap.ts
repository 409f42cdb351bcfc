/**
 * The life of a worker process, PostgreSQL's `BackgroundWorkerMain`: wait
 * for the start parameters, rebuild `myBgworkerEntry` from them, report in,
 * import the library, run the function, and turn the outcome into an exit
 * code. Also the process-wide wiring: signals, the channel, and the
 * postmaster's death.
 *
 * @module
 */

import { BackgroundWorkerError, errorText } from "../errors.ts";
import type { PostmasterMessage, StartMessage, WireError } from "../protocol.ts";
import { SegmentAttachment } from "../shmem/attachment.ts";
import { rebuildWorkerEntry } from "../worker_spec.ts";
import { refreshWorkerBindings } from "./api.ts";
import { elog } from "./elog.ts";
import type { WorkerPort } from "./port.ts";
import { deliverSignal, HANDLED_SIGNALS } from "./signals.ts";
import { exitWorker, workerState } from "./state.ts";

/**
 * Milliseconds a worker that asked to hear of the postmaster's death
 * (`WL_POSTMASTER_DEATH`) gets to clean up before it is made to exit: no
 * worker outlives its postmaster for long, whatever its code does.
 */
export const ORPHAN_GRACE_MS = 500;

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
 * runBackgroundWorker(createNodeWorkerPort());
 * ```
 */
export function runBackgroundWorker(port: WorkerPort, options: BootstrapOptions = {}): void {
  const state = workerState();
  state.port = port;
  for (const signal of HANDLED_SIGNALS) {
    const remove = port.onSignal(signal, () => deliverSignal(signal));
    if (signal === "SIGTERM") state.removeSigtermListener = remove;
  }
  port.onUncaught((error) => fatal(`uncaught error in background worker: ${errorText(error)}`));
  port.onDisconnect(() => onPostmasterDeath(port));
  let started = false;
  port.onMessage((raw) => {
    const message = raw as PostmasterMessage;
    switch (message?.type) {
      case "start":
        if (started) return;
        started = true;
        void startWorker(port, message);
        return;
      case "notify": {
        const count = ++state.newsSeq;
        state.news.set(`${message.slot}:${message.generation}`, { count, status: message.status, pid: message.pid });
        for (const wake of [...state.newsWatchers]) wake();
        // PostgreSQL signals the notify pid with SIGUSR1, which sets its latch.
        deliverSignal("SIGUSR1");
        return;
      }
      case "ping":
        // Only a spare is pinged: it has time to spare, a cold-started worker must not wait for this.
        if (!started) warmUp(port, options.preload ?? [], message.sharedMemory);
        return;
      case "reply": {
        const pending = state.requests.get(message.id);
        if (!pending) return;
        state.requests.delete(message.id);
        if (message.ok) pending.resolve({ value: message.value, seq: state.newsSeq });
        else pending.reject(fromWireError(message.error));
        return;
      }
    }
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
function warmUp(port: WorkerPort, preload: readonly string[], sharedMemory: boolean): void {
  // Modules every worker imports anyway: loaded now, the start does not wait for them.
  for (const url of preload) void port.importModule(url).catch(() => {});
  // The runtime's foreign function interface, should this spare's worker map shared memory.
  if (sharedMemory) void port.sharedMemory().catch(() => {});
  const sample = '{"bgw_name":"warm-up","bgw_type":"warm-up","bgw_flags":0,"bgw_start_time":0,"bgw_restart_time":-1,' +
    '"bgw_library_name":"file:///warm-up.js","bgw_function_name":"main","bgw_main_arg":{"bigint":"1"},"bgw_extra":"00ff","bgw_notify_pid":0}';
  for (let i = 0; i < 3; i++) rebuildWorkerEntry(sample);
}

async function startWorker(port: WorkerPort, { entry: encoded, libraryUrl, postmasterPid, title, sharedMemory, database }: StartMessage): Promise<void> {
  const state = workerState();
  state.postmasterPid = postmasterPid;
  state.database = database ?? null;
  try {
    state.entry = rebuildWorkerEntry(encoded);
  } catch (error) {
    return fatal(`could not rebuild the background worker's start parameters: ${errorText(error)}`);
  }
  refreshWorkerBindings();
  const entry = state.entry;
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
  }

  const where = `for background worker "${entry.bgw_name}" (library "${entry.bgw_library_name}", function "${entry.bgw_function_name}")`;
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
    await elog("ERROR", errorText(error));
    return void exitWorker(1);
  }
  exitWorker(0);
}

function onPostmasterDeath(port: WorkerPort): void {
  const state = workerState();
  if (state.postmasterDead) return;
  state.postmasterDead = true;
  for (const pending of state.requests.values()) pending.reject(new Error("the postmaster is gone"));
  state.requests.clear();
  const watchers = [...state.deathWatchers];
  // Nobody listens for the death: exit now. Otherwise let them hear of it, within a bound.
  if (watchers.length === 0) port.exit(1);
  for (const wake of watchers) wake();
  port.setTimer(ORPHAN_GRACE_MS, () => port.exit(1));
}

function fatal(message: string): void {
  // exit waits for the line to be written.
  void elog("FATAL", message);
  exitWorker(1);
}

function fromWireError(wire: WireError): Error {
  if (wire.name === "BackgroundWorkerError" && wire.worker !== undefined) {
    const prefix = `background worker "${wire.worker}": `;
    return new BackgroundWorkerError(wire.message.startsWith(prefix) ? wire.message.slice(prefix.length) : wire.message, {
      worker: wire.worker,
      field: wire.field,
      code: (wire.code ?? "invalid_parameter_value") as never,
    });
  }
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}
