/** The migrations this binary knows, in order. Append only. */
import * as m0001 from './0001-initial.ts';
import * as m0002 from './0002-quota-usage.ts';
import * as m0003 from './0003-search-index-queue.ts';
import * as m0004 from './0004-mime-structure.ts';
import * as m0005 from './0005-imap-mailbox-state.ts';
import * as m0006 from './0006-outbound-queue.ts';
import * as m0007 from './0007-search-vector-from-node.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: m0001.sql + m0001.afterSql },
  { version: 2, name: 'quota-usage', sql: m0002.sql },
  { version: 3, name: 'search-index-queue', sql: m0003.sql },
  { version: 4, name: 'mime-structure', sql: m0004.sql },
  { version: 5, name: 'imap-mailbox-state', sql: m0005.sql },
  { version: 6, name: 'outbound-queue', sql: m0006.sql },
  { version: 7, name: 'search-vector-from-node', sql: m0007.sql },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;
