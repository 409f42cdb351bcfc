/**
 * The way SIGTERM reaches a worker. With bgworker's default handler and
 * signals let through, PostgreSQL's die() does nothing but end the process
 * (exit 1, its FATAL line): so here the runtime's listener is removed and
 * the kernel's default action ends the process itself, at the kernel's
 * pace, with no turn of the event loop in between, even in a worker stuck
 * in a loop (one whose event loop turned once after the unblock). The postmaster counts a death by SIGTERM as die()'s exit 1 and
 * writes its FATAL line (src/postmaster/exit_policy.ts), as it already did
 * for the default handler's raise of SIGTERM. The listener goes after the
 * event loop's next poll (two timers), not at once: a SIGTERM the runtime
 * caught by then (while signals were held, or as they were let through)
 * reaches it there instead of being dropped with it. Without that wait, a
 * postmaster terminating a worker as soon as main's first line arrived
 * mostly signalled it before main, a moment later, let signals through,
 * and the benchmark's terminate step found the kernel's action slower than
 * the listener on every runtime (the recovery below, then on timers, cost
 * 4 to 5 ms on Node).
 *
 * SIGTERM goes through the listener, as the other signals do:
 *
 * - while signals are held: a SIGTERM must stay pending until unblocked;
 * - while the handler is a function or "ignore": it must run it;
 * - while the process holds an LWLock: die() releases them on its way out
 *   (LWLockReleaseAll) and the kernel would not. A lock word counts its
 *   holders but does not name them, so nobody else can release it, and
 *   the postmaster recreates shared memory only after a crash, which a
 *   death by SIGTERM is not. The kernel's action comes back
 *   {@link KERNEL_SIGTERM_AFTER_LOCKS_MS} after the last lock is released
 *   (a lock taken and released on every turn pays the switch once in a while);
 * - once a SIGTERM has reached the handlers and the process lives on (a
 *   function or "ignore" took it): see "none lost" below;
 * - on a runtime whose removal of a listener does not restore the default
 *   action (`WorkerPort.restoresDefaultAction === false`). None is known,
 *   checked with a script per runtime: Node 20 (through tsx, whose
 *   preflight adds no SIGTERM listener outside its own CLI) and 24 and Bun
 *   restore SIG_DFL when the last listener goes (`SigCgt` in
 *   /proc/self/status loses SIGTERM); Deno keeps its own handler installed
 *   but applies the default action itself when no listener is left,
 *   outside JavaScript: a worker spinning in a loop dies there too, a few
 *   milliseconds later than a process that never had a listener.
 *
 * None lost: removing the listener drops a SIGTERM the runtime caught
 * since the last poll and had not handed to JavaScript yet (Node's signal
 * pipe, Deno's and Bun's queues). The postmaster announces each SIGTERM it
 * sends on the channel (`sigterm_sent`, sent after the signal). Once one
 * is announced the listener stays, so a removal still waiting cannot drop
 * it. A worker that has left SIGTERM to the kernel at least once, is
 * alive, and finds that no SIGTERM reached its handlers delivers it then:
 * PostgreSQL's outcome, a little later. At once if the listener is away
 * when the announcement comes (the kernel's action would have ended the
 * process, so the runtime caught the signal before the removal and nothing
 * can hand it over now); after the next poll of the event loop if the
 * listener is back (the runtime may still hand it a SIGTERM caught during
 * this turn). An announcement
 * rather than a second SIGTERM from the postmaster, because only the
 * worker knows whether one reached its handlers: a handler set after the
 * removal never runs twice for one SIGTERM, and a worker whose own code
 * listens for SIGTERM too (the runtime then keeps its handler, and the
 * removal restores nothing) still ends by the default handler's raise and
 * its fallback. Once a SIGTERM reached the handlers the listener stays for
 * good, so a later announcement is never taken for a lost one. A worker
 * that never left SIGTERM to the kernel delivers nothing on an
 * announcement. A SIGTERM from outside the postmaster (kill(1)) that the
 * runtime caught between the event loop's last poll and the removal is the
 * one case not covered: nothing announces it.
 *
 * @module
 */

import { holdsLWLocks, type LWLockHoldingWatcher, watchLWLockHolding } from "../shmem/lwlock.ts";
import { elog } from "./elog.ts";
import type { WorkerPort } from "./port.ts";
import { type WorkerState, workerState } from "./state.ts";

/**
 * Milliseconds without an LWLock before SIGTERM goes back to the kernel's
 * action. Until then it goes through the listener: correct, one turn of
 * the event loop slower.
 *
 * @example
 * ```ts
 * import { KERNEL_SIGTERM_AFTER_LOCKS_MS } from "./sigterm_route.ts";
 * const slowerFor: number = KERNEL_SIGTERM_AFTER_LOCKS_MS; // after a worker's last release
 * ```
 */
export const KERNEL_SIGTERM_AFTER_LOCKS_MS = 10;

/**
 * Install the process's SIGTERM listener, as the bootstrap does for every
 * handled signal, keeping it so that it can be removed and installed again,
 * and pay for the runtime's first timer now rather than when the route
 * first needs one.
 *
 * @example
 * ```ts
 * import { installSigtermListener } from "./sigterm_route.ts";
 * import { deliverSignal } from "./signals.ts";
 * declare const port: import("./port.ts").WorkerPort;
 * installSigtermListener(port, () => deliverSignal("SIGTERM"));
 * ```
 */
export function installSigtermListener(port: WorkerPort, listener: () => void): void {
  const route = workerState().sigterm;
  route.listener = listener;
  route.remove = port.onSignal("SIGTERM", listener);
  // A runtime's first timer costs the most (measured in a worker: 0.22 ms on Node 20, 0.28 on Deno, 0.06 on Node 24
  // and Bun, against a few microseconds after): paid at boot, not when signals are let through, where a terminate
  // right after main began would wait for it.
  if (port.restoresDefaultAction !== false) port.clearTimer(port.setTimer(0, () => {}));
}

/**
 * Put SIGTERM on the route the worker's state calls for: the kernel's
 * default action, or the listener. Called after every change that matters
 * (signals blocked or unblocked, SIGTERM's handler set); the listener comes
 * back before this returns, so a SIGTERM after it is caught, and goes only
 * after the event loop's next poll.
 *
 * @example
 * ```ts
 * import { updateSigtermRoute } from "./sigterm_route.ts";
 * import { workerState } from "./state.ts";
 * workerState().signalsBlocked = false;
 * updateSigtermRoute(); // the kernel's action after the next poll, if the handler is the default one
 * ```
 */
export function updateSigtermRoute(): void {
  const state = workerState();
  if (state.sigterm.listener === null || state.sigterm.ending) return;
  if (kernelMayTakeSigterm(state)) {
    watchLWLockHolding(LOCK_WATCHER);
    // After the next poll of the event loop, not now: a SIGTERM the runtime caught during this turn (while
    // signals were held, or just now) reaches the listener there, instead of being dropped with it.
    if (!holdsLWLocks()) leaveSigtermToKernelAfter(state, null);
  } else {
    // A worker that cannot use the kernel's action has no use for hearing of its locks.
    watchLWLockHolding(null);
    catchSigterm(state);
  }
}

/**
 * The default handler is ending the process by SIGTERM: remove the
 * listener (if it is installed) so that the raise that follows is the
 * kernel's, and change the route no more.
 *
 * @example
 * ```ts
 * import { endingBySigterm } from "./sigterm_route.ts";
 * declare const port: import("./port.ts").WorkerPort;
 * endingBySigterm();
 * port.raise("SIGTERM");
 * ```
 */
export function endingBySigterm(): void {
  const route = workerState().sigterm;
  route.ending = true;
  route.remove?.();
  route.remove = null;
}

/**
 * The postmaster announced a SIGTERM it sent (`sigterm_sent`). If this
 * worker ever removed its listener, the signal may have been dropped with
 * it: if no SIGTERM reached the handlers and the process still lives,
 * `deliver` it, saying so at DEBUG1 first; at once while the listener is
 * away, after the next poll of the event loop while it is back (a SIGTERM
 * the runtime caught is handed over by then).
 *
 * @example
 * ```ts
 * import { sigtermAnnounced } from "./sigterm_route.ts";
 * import { deliverSignal } from "./signals.ts";
 * sigtermAnnounced(() => deliverSignal("SIGTERM"));
 * ```
 */
export function sigtermAnnounced(deliver: () => void): void {
  const state = workerState();
  const { port, sigterm: route } = state;
  // From now on the listener stays: the SIGTERM announced may be in the runtime's hands, to be handed to the
  // listener at the next poll, and a removal scheduled for before that poll would drop it.
  route.announced = true;
  if (!port || !route.leftToKernel) return;
  const lost = () => !route.ending && route.delivered === 0 && state.exitCode === null;
  const recover = () => {
    if (!lost()) return;
    // The line first, then the delivery on the same turn, without waiting for the send's callback (a tenth of a
    // millisecond or more, measured): the line is handed to the channel before the signal ends the process.
    void elog("DEBUG1", "a SIGTERM from the postmaster did not reach this worker's handlers; delivering it now");
    deliver();
  };
  // The listener is away and the signal was sent before this message: had it met the kernel's action this
  // process would be gone, so the runtime caught it before the removal, and no listener of ours is left to be
  // handed it (on Deno, whose handler stays, it may yet end the process by the default action: delivering it ends
  // it the same way). Waiting would only add turns of the event loop (a timer is a millisecond on Node) to the end.
  if (route.remove === null) return recover();
  // The listener is back: a SIGTERM the runtime caught during this turn may still reach it at the next poll. Two
  // timers: the first may run before that poll, the second not.
  port.setTimer(0, () => port.setTimer(0, recover));
}

/** Whether the kernel's action may take SIGTERM, locks aside. */
function kernelMayTakeSigterm(state: WorkerState): boolean {
  const { port, sigterm: route } = state;
  return port !== null && route.listener !== null && !route.ending && state.exitCode === null &&
    !state.signalsBlocked && (state.handlers.get("SIGTERM") ?? "default") === "default" && route.delivered === 0 &&
    !route.announced &&
    port.restoresDefaultAction !== false;
}

/**
 * Leave SIGTERM to the kernel later, if nothing changed by then: after
 * `ms`, or with null after two timers (the first may run before the event
 * loop's next poll, the second not). One at a time: the one scheduled
 * checks the state when it runs.
 */
function leaveSigtermToKernelAfter(state: WorkerState, ms: number | null): void {
  const { port, sigterm: route } = state;
  if (route.remove === null || route.scheduled || !port) return;
  route.scheduled = true;
  const leave = () => {
    route.scheduled = false;
    if (kernelMayTakeSigterm(state) && !holdsLWLocks()) leaveSigtermToKernel(state);
  };
  if (ms === null) port.setTimer(0, () => port.setTimer(0, leave));
  else port.setTimer(ms, leave);
}

function leaveSigtermToKernel(state: WorkerState): void {
  const route = state.sigterm;
  if (route.remove === null) return;
  route.remove();
  route.remove = null;
  route.leftToKernel = true;
}

function catchSigterm(state: WorkerState): void {
  const route = state.sigterm;
  if (route.remove !== null || route.listener === null || route.ending || !state.port) return;
  route.remove = state.port.onSignal("SIGTERM", route.listener);
}

/** Installed while the kernel's action is wanted: the listener is back before a lock is taken, gone a while after. */
const LOCK_WATCHER: LWLockHoldingWatcher = {
  beforeFirstLock: () => catchSigterm(workerState()),
  // Already the kernel's, or on its way back: nothing to do (this runs on every release, kept cheap).
  noLockHeld: () => leaveSigtermToKernelAfter(workerState(), KERNEL_SIGTERM_AFTER_LOCKS_MS),
};
