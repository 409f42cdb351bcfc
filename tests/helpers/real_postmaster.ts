/** A real Postmaster for end-to-end tests, with its log captured and events awaited with a bound. */
import { type BackgroundWorker, type BackgroundWorkerHandle, Postmaster, type WorkerNotification } from "../../mod.ts";

export const FIXTURES = new URL("../fixtures/workers.ts", import.meta.url).href;

export interface Harness {
  pm: Postmaster;
  logs: string[];
  notes: WorkerNotification[];
  /** Resolve when `predicate` holds after some notification or log line; reject after `ms`. */
  until(what: string, predicate: () => boolean, ms?: number): Promise<void>;
  /** Check the pending `until`s again: for events of the test's own, such as a notification its listener heard. */
  recheck(): void;
}

export function realPostmaster(options: ConstructorParameters<typeof Postmaster>[0] = {}): Harness {
  const logs: string[] = [];
  const notes: WorkerNotification[] = [];
  const checks = new Set<() => void>();
  const recheck = () => {
    for (const check of [...checks]) check();
  };
  const pm = new Postmaster({
    logger: (level, message) => {
      logs.push(`${level}:  ${message}`);
      recheck();
    },
    ...options,
  });
  pm.on("notify", (n) => {
    notes.push(n);
    recheck();
  });
  const until = (what: string, predicate: () => boolean, ms = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        checks.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; log:\n${logs.join("\n")}`));
      }, ms);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        checks.delete(check);
        resolve();
      };
      checks.add(check);
      check();
    });
  return { pm, logs, notes, until, recheck };
}

export function fixture(name: string, fn: string, overrides: Partial<BackgroundWorker> = {}): BackgroundWorker {
  return {
    bgw_name: name,
    bgw_flags: 0,
    bgw_start_time: 0,
    bgw_restart_time: -1,
    bgw_library_name: FIXTURES,
    bgw_function_name: fn,
    ...overrides,
  };
}

/** Whether two handles name the same registration. */
export function sameHandle(a: BackgroundWorkerHandle, b: BackgroundWorkerHandle): boolean {
  return a.slot === b.slot && a.generation === b.generation;
}
