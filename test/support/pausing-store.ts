import type { StateStore } from "../../src/control/state-store.ts";

/** A real state store whose next binary write, once armed, waits: a GC pause or a SIGSTOP at that point. */
export interface PausingStore {
  readonly store: StateStore;
  /** Makes the next `putBytes` wait; resolves once a write reached the pause. */
  arm(): Promise<void>;
  /** Lets the paused write go on. */
  resume(): void;
}

export function pausingStore(store: StateStore): PausingStore {
  let pause: { reached: () => void; resumed: Promise<void>; resume: () => void } | undefined;
  const wrapper = Object.create(store) as StateStore;
  wrapper.putBytes = async (collection, id, bytes) => {
    const current = pause;
    if (current) {
      pause = undefined;
      current.reached();
      await current.resumed;
    }
    return store.putBytes(collection, id, bytes);
  };
  let resumeLast = () => {};
  return {
    store: wrapper,
    arm: () =>
      new Promise<void>((reached) => {
        let resume!: () => void;
        const resumed = new Promise<void>((resolve) => (resume = resolve));
        pause = { reached, resumed, resume };
        resumeLast = resume;
      }),
    resume: () => resumeLast(),
  };
}
