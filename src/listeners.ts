/**
 * A minimal typed listener list: `EventTarget` is not ECMAScript, and the
 * core uses nothing that is not.
 *
 * @module
 */

/**
 * Listeners keyed by event name, each called with that event's payload.
 * A listener that throws is reported to `onError` and does not stop the others.
 *
 * @example
 * ```ts
 * import { Listeners } from "./listeners.ts";
 * const events = new Listeners<{ tick: number }>((e) => console.error(e));
 * const off = events.on("tick", (n) => console.log(n));
 * events.emit("tick", 1);
 * off();
 * ```
 */
export class Listeners<Events extends Record<string, unknown>> {
  #byName = new Map<keyof Events, Set<(payload: never) => void>>();
  #onError: (error: unknown) => void;

  /** @param onError where errors thrown by listeners go */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Add a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.#byName.get(name);
    if (!set) this.#byName.set(name, set = new Set());
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Call every listener of `name` with `payload`. */
  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const listener of [...(this.#byName.get(name) ?? [])]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
