/**
 * What a core service needs to act: the database and who is acting (for the
 * audit log). Built by the composition root (cli), passed down; no globals.
 */
import type { Database } from '../store/db.ts';

export interface CoreContext {
  db: Database;
  /** Who acts: an account address, "cli:<os user>", or "system". */
  actor: string;
  /** This node's name, recorded with audit events. */
  node: string;
}
