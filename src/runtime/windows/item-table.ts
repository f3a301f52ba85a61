import type { Doc, Vars } from "../../mql/index.ts";
import { NO_VARS, type Item } from "../types.ts";

/**
 * Buffered documents in a window snapshot, stored once each: a hopping window's document sits in several
 * windows, and every document of a batch shares one `vars` object. Windows refer to rows by index, so a
 * restored runner shares them the same way.
 */
export class ItemTableWriter {
  private readonly rows: unknown[][] = [];
  private readonly varsRows: Vars[] = [];
  private readonly itemIndex = new Map<Item, number>();
  private readonly varsIndex = new Map<Vars, number>();

  /** The row index of `item`, adding it on first sight. */
  ref(item: Item): number {
    let index = this.itemIndex.get(item);
    if (index === undefined) {
      index = this.rows.length;
      this.rows.push([item.doc, this.varsRef(item.vars), item.eventTime, item.watermarkBefore]);
      this.itemIndex.set(item, index);
    }
    return index;
  }

  /** `{items, vars}` to store beside the windows that refer to them. */
  table(): Doc {
    return { items: this.rows, vars: this.varsRows };
  }

  private varsRef(vars: Vars): number {
    if (vars === NO_VARS) return -1;
    let index = this.varsIndex.get(vars);
    if (index === undefined) {
      index = this.varsRows.length;
      this.varsRows.push(vars);
      this.varsIndex.set(vars, index);
    }
    return index;
  }
}

export class ItemTableReader {
  private readonly items: Item[];

  constructor(table: Doc) {
    const vars = (table.vars as Vars[] | undefined) ?? [];
    const rows = (table.items as unknown[][] | undefined) ?? [];
    this.items = rows.map(([doc, varsRef, eventTime, watermarkBefore]) => ({
      doc: doc as Doc,
      vars: (varsRef as number) < 0 ? NO_VARS : vars[varsRef as number],
      eventTime: eventTime as number,
      watermarkBefore: watermarkBefore as number,
    }));
  }

  item(index: number): Item {
    const item = this.items[index];
    if (item === undefined) throw new Error(`window snapshot refers to missing buffered document #${index}`);
    return item;
  }
}
