/** One-second tumbling-window results of the scale-out tests, as `key/second` → count and total. */
import type { Collection, Document } from "mongodb";
import { eventually } from "../server/helpers.ts";

export type WindowTotals = Map<string, { count: number; total: number }>;

/** The windows a processor wrote: documents `{_id: {[keyField], start}, count, total}`, seconds since `base`. */
export async function writtenWindows(
  collection: Collection<Document>,
  keyField: string,
  base: number,
): Promise<WindowTotals> {
  const docs = await collection.find().toArray();
  return new Map(
    docs.map((doc) => {
      const id = doc._id as unknown as Record<string, unknown> & { start: Date };
      const second = Math.floor((id.start.getTime() - base) / 1000);
      return [
        `${String(id[keyField])}/${second}`,
        { count: doc.count as number, total: doc.total as number },
      ];
    }),
  );
}

/** What a single run over `events` must write: per key and second, the count and the sum of `value`. */
export function expectedWindows<E extends { readonly ts: number; readonly value: number }>(
  events: readonly E[],
  keyOf: (event: E) => string,
  base: number,
): WindowTotals {
  const expected: WindowTotals = new Map();
  for (const e of events) {
    const key = `${keyOf(e)}/${Math.floor((e.ts - base) / 1000)}`;
    const entry = expected.get(key) ?? { count: 0, total: 0 };
    entry.count++;
    entry.total += e.value;
    expected.set(key, entry);
  }
  return expected;
}

/** Waits until every window of `expected` is in each of `collections` (as `written` reads them). */
export async function untilWritten(
  written: (collection: string) => Promise<WindowTotals>,
  expected: WindowTotals,
  collections: readonly string[],
): Promise<void> {
  for (const collection of collections) {
    await eventually(
      async () => {
        const windows = await written(collection);
        for (const key of expected.keys()) if (!windows.has(key)) return undefined;
        return true;
      },
      90_000,
      `${expected.size} windows in ${collection}`,
    );
  }
}
