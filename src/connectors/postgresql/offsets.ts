/**
 * The offsets table of exactly-once PostgreSQL `$emit`: one row per processor, committed in the same
 * transaction as the rows of a checkpoint. `marker` names the checkpoint whose output is committed (see
 * `TwoPhaseCheckpoints`), `positions` is its source positions (for people: Eddy resumes from the
 * checkpoint), and `epoch` fences earlier runs: each run takes a new epoch, and a commit from an older
 * one updates nothing and is rolled back.
 */
import type pg from "pg";
import { quoteTable } from "./identifiers.ts";

export const DEFAULT_OFFSETS_TABLE = "eddy_offsets";

export class OffsetsTable {
  private readonly table: string;
  private readonly key: string;

  constructor(table: string, key: string) {
    this.table = quoteTable(table);
    this.key = key;
  }

  async ensure(client: pg.Client): Promise<void> {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (processor text PRIMARY KEY, epoch bigint NOT NULL, ` +
        `marker bigint, positions text, committed_at timestamptz)`,
    );
  }

  /** Takes a new epoch (fencing every earlier run) and returns it with the last committed marker. */
  async fence(client: pg.Client): Promise<{ epoch: string; marker: number | undefined }> {
    const { rows } = await client.query<{ epoch: string; marker: string | null }>(
      `INSERT INTO ${this.table} AS o (processor, epoch) VALUES ($1, 1) ` +
        `ON CONFLICT (processor) DO UPDATE SET epoch = o.epoch + 1 RETURNING epoch, marker`,
      [this.key],
    );
    const row = rows[0];
    return { epoch: row.epoch, marker: row.marker === null ? undefined : Number(row.marker) };
  }

  /** Inside the open transaction: records `marker`; false when a newer run has fenced this one. */
  async commitMarker(client: pg.Client, epoch: string, marker: number, positions: string): Promise<boolean> {
    const result = await client.query(
      `UPDATE ${this.table} SET marker = $3, positions = $4, committed_at = now() ` +
        `WHERE processor = $1 AND epoch = $2`,
      [this.key, epoch, marker, positions],
    );
    return result.rowCount === 1;
  }
}
