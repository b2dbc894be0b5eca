/** The migrations this binary knows, in order. Append only. */
import * as m0001 from './0001-initial.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: m0001.sql + m0001.afterSql },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;
