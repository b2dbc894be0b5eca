/**
 * The directory: who exists, what an address leads to, who may log in.
 * Backends: local (accounts in PostgreSQL, this issue) and LDAP / Active
 * Directory (bind relay, later). Protocols and delivery only see this interface.
 */
import type { AccountId } from '../lib/ids.ts';

export interface DirectoryAccount {
  id: AccountId;
  address: string;
  displayName: string;
  /**
   * The account's own storage limit when the directory knows it (0: unlimited;
   * null: the mailbox.defaultQuotaBytes setting applies); absent: not known
   * here, the quota check reads it from the store.
   */
  quotaBytes?: number | null;
}

export type Recipient =
  | { kind: 'account'; account: DirectoryAccount }
  /** Alias or catch-all: deliver to these addresses instead (they may be remote). */
  | { kind: 'alias'; targets: string[] }
  | { kind: 'group'; members: string[] };

export interface Directory {
  /** The account when login and secret match; undefined otherwise (never says which part was wrong). */
  authenticate(login: string, secret: string): Promise<DirectoryAccount | undefined>;
  /** What mail to this address reaches, after subaddress stripping and catch-all; undefined when nothing. */
  lookup(address: string): Promise<Recipient | undefined>;
}
