/**
 * The watchdog that ends what a dead postmaster leaves behind. Every worker
 * leads its own process group; this small `/bin/sh` process, started with
 * the first worker, is told each group as it comes and goes. It reads its
 * standard input until end of file, which comes when the postmaster's
 * process ends however it ends (SIGKILL included: the kernel closes the
 * pipe). Then, after the grace a worker waiting with `WL_POSTMASTER_DEATH`
 * has, it sends SIGKILL to every group still listed: a worker that never
 * yields its event loop, and whatever its worker spawned, is gone too.
 *
 * A shell, not a runtime: it costs about a millisecond to start and a few
 * hundred kilobytes, and it runs no JavaScript that a busy or broken event
 * loop could hold up.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";

/**
 * Milliseconds from the postmaster's death to the SIGKILL of what is left:
 * a little over a worker's `ORPHAN_GRACE_MS` (500), so a worker that asked to
 * hear of the death gets its grace first.
 */
export const REAP_AFTER_MS = 600;

// Ignores the terminal's signals (Ctrl-C reaches the whole foreground group) and every stop request:
// only the end of its input ends it. `+N` adds group N, `qN` adds group N whose leader first gets SIGQUIT
// at once, `-N` removes it, `exit` leaves at once.
const SCRIPT = `trap '' INT QUIT TERM HUP PIPE
groups=' '
quit=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    q*) groups="$groups\${line#q} "; quit="$quit\${line#q} " ;;
    -*) g=\${line#-}
        case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac
        case $quit in *" $g "*) quit="\${quit%% $g *} \${quit#* $g }" ;; esac ;;
    exit) exit 0 ;;
  esac
done
for g in $quit; do kill -s QUIT -- "$g" 2>/dev/null; done
sleep ${REAP_AFTER_MS / 1000}
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0`;

let reaper: ChildProcess | null = null;
let unavailable = false;

function write(line: string): void {
  if (unavailable) return;
  if (!reaper) {
    try {
      reaper = spawn("/bin/sh", ["-c", SCRIPT], { stdio: ["pipe", "ignore", "ignore"], detached: true });
    } catch {
      unavailable = true; // no shell: workers still notice the postmaster's death themselves
      return;
    }
    reaper.on("error", () => {
      unavailable = true;
    });
    reaper.stdin?.on("error", () => {});
    // The watchdog must never keep the application alive, nor wait for it.
    reaper.unref();
    (reaper.stdin as { unref?: () => void } | null)?.unref?.();
  }
  reaper.stdin?.write(line + "\n");
}

/**
 * Tell the watchdog of a new worker's process group (its pid: each worker
 * leads its own group). With `quitFirst`, the group's leader gets SIGQUIT
 * as soon as the postmaster dies, before the SIGKILL: a PostgreSQL server,
 * whose children each lead a group of their own, passes it on to every one
 * of them (its immediate shutdown), busy ones included.
 *
 * @example
 * ```ts
 * import { watchGroup } from "./group_reaper.ts";
 * watchGroup(12345);
 * ```
 */
export function watchGroup(pgid: number, quitFirst = false): void {
  write(`${quitFirst ? "q" : "+"}${pgid}`);
}

/**
 * The group is gone (its leader exited and what was left got SIGKILL):
 * never signal that number again, it may be another process's one day.
 *
 * @example
 * ```ts
 * import { forgetGroup } from "./group_reaper.ts";
 * forgetGroup(12345);
 * ```
 */
export function forgetGroup(pgid: number): void {
  write(`-${pgid}`);
}
