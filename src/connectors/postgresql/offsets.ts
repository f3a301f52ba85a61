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

  /**
   * Records `marker` in the open transaction and commits it, in one round trip: a `DO` block updates this
   * run's row and raises {@link FENCED_STATE} when a newer run took it over, so the `COMMIT` sent with it
   * never runs then. False (the transaction rolled back) when fenced. With `begin`, the next transaction
   * is begun in the same round trip (only once the commit succeeded).
   */
  async commit(
    client: pg.Client,
    epoch: string,
    marker: number,
    positions: string,
    options: { readonly begin?: boolean } = {},
  ): Promise<boolean> {
    const begin = options.begin === true ? "; BEGIN" : "";
    const update =
      `UPDATE ${this.table} SET marker = ${Number(marker)}, positions = ${client.escapeLiteral(positions)}, ` +
      `committed_at = now() WHERE processor = ${client.escapeLiteral(this.key)} AND epoch = ${BigInt(epoch)}`;
    if (update.includes(DO_TAG)) return this.commitInTwoTrips(client, epoch, marker, positions, begin);
    try {
      await client.query(
        `DO ${DO_TAG} BEGIN ${update}; IF NOT FOUND THEN RAISE EXCEPTION 'fenced' USING ERRCODE = '${FENCED_STATE}'; END IF; END ${DO_TAG}; COMMIT${begin}`,
      );
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code !== FENCED_STATE) throw error;
      await client.query("ROLLBACK");
      return false;
    }
  }

  /** The same with a parameterised `UPDATE`, for positions that happen to contain the `DO` block's quote tag. */
  private async commitInTwoTrips(
    client: pg.Client,
    epoch: string,
    marker: number,
    positions: string,
    begin: string,
  ): Promise<boolean> {
    const result = await client.query(
      `UPDATE ${this.table} SET marker = $3, positions = $4, committed_at = now() ` +
        `WHERE processor = $1 AND epoch = $2`,
      [this.key, epoch, marker, positions],
    );
    await client.query(result.rowCount === 1 ? `COMMIT${begin}` : "ROLLBACK");
    return result.rowCount === 1;
  }
}

const DO_TAG = "$eddy_commit$";
/** The SQLSTATE the commit's `DO` block raises when a newer run fenced this one (class ED: Eddy's own). */
const FENCED_STATE = "ED001";
