// The sample tap's positions: what a sample cursor reads page by page.
import { describe, expect, it } from "vitest";
import { SampleTap } from "../../src/control/sample-tap.ts";

const docs = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ n: from + i }));

describe("SampleTap positions", () => {
  it("pages the outputs pushed after a position", async () => {
    const tap = new SampleTap(10);
    tap.push(docs(0, 3));
    const start = tap.position;
    tap.push(docs(3, 8));
    const first = await tap.after(start, 2, 0);
    expect(first).toEqual({ docs: [{ n: 3 }, { n: 4 }], position: 5 });
    const rest = await tap.after(first.position, 10, 0);
    expect(rest).toEqual({ docs: docs(5, 8), position: 8 });
    expect(await tap.after(rest.position, 10, 0)).toEqual({ docs: [], position: 8 });
  });

  it("skips what fell out of the ring", async () => {
    const tap = new SampleTap(4);
    tap.push(docs(0, 10));
    expect(await tap.after(2, 10, 0)).toEqual({ docs: docs(6, 10), position: 10 });
  });

  it("waits for the next batch when there is nothing new", async () => {
    const tap = new SampleTap(4);
    const waiting = tap.after(0, 10, 5_000);
    tap.push(docs(0, 2));
    expect(await waiting).toEqual({ docs: docs(0, 2), position: 2 });
  });
});
