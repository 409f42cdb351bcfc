/** A manual clock with one-shot timers, shared by the fake runtime (postmaster side) and the fake worker port. */

interface Timer {
  at: number;
  callback: () => void;
}

export class FakeClock {
  #now = 0;
  #timers = new Map<number, Timer>();
  #nextTimer = 1;

  get now(): number {
    return this.#now;
  }
  setTimer(ms: number, callback: () => void): number {
    const id = this.#nextTimer++;
    this.#timers.set(id, { at: this.#now + ms, callback });
    return id;
  }
  clearTimer(timer: unknown): void {
    this.#timers.delete(timer as number);
  }
  /** Move the clock forward, firing due timers in order, each through `run`. */
  advance(ms: number, run: (callback: () => void) => void = (callback) => callback()): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, Timer] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      run(next[1].callback);
    }
    this.#now = end;
  }
  get pendingTimers(): number {
    return this.#timers.size;
  }
}
