/**
 * A tiny helper the examples share: print lines as they come, keep them, and
 * wait until the lines say something happened. The examples wait on what
 * the workers report rather than on the clock.
 */

/** Printed lines, kept, and a way to wait on them. */
export interface EventLog {
  readonly lines: readonly string[];
  /** Print and keep a line; wake the waits whose condition now holds. */
  record(line: string): void;
  /** Resolve once `predicate` holds over the lines so far. */
  until(predicate: () => boolean): Promise<void>;
}

/**
 * Make an event log; `format` decorates a line for printing only.
 *
 * @example
 * ```ts
 * const log = eventLog();
 * const pm = new Postmaster({ logger: (level, message) => log.record(`${level}:  ${message}`) });
 * await log.until(() => log.lines.some((l) => l.includes("ready")));
 * ```
 */
export function eventLog(format: (line: string) => string = (line) => line): EventLog {
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  return {
    lines,
    record(line) {
      console.log(format(line));
      lines.push(line);
      for (const check of [...waiting]) check();
    },
    until: (predicate) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!predicate()) return;
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
      }),
  };
}
