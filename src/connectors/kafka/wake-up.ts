/**
 * Waits `ms`, or until the `wake` handed to `onWaiting` is called, whichever comes first. One timer and one
 * promise: no AbortController and no `Promise.race`, whose reactions would outlive the wait. The Kafka fetch
 * path's waits use it; new records, a new assignment, or a resume end them early.
 */
export function sleepUntilWoken(ms: number, onWaiting: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    onWaiting(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
