/** The local directory backend: accounts, aliases and groups in PostgreSQL. */
import { parseAddress, stripSubaddress, type Address } from '../lib/address.ts';
import { InvalidInputError } from '../lib/errors.ts';
import { verifyPassword } from '../lib/password.ts';
import type { Database } from '../store/db.ts';
import * as store from '../store/directory.ts';
import type { Directory, DirectoryAccount, Recipient } from './types.ts';

/** A hash of a random password: verifying against it costs as much as a real check (no user-enumeration timing). */
const DUMMY_HASH = '$scrypt$ln=15,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface LocalDirectoryOptions {
  /** RFC 5233 subaddress separator ("+"); empty disables. Read at each lookup. */
  subaddressSeparator: () => string;
}

export function localDirectory(db: Database, opts: LocalDirectoryOptions): Directory {
  const toAccount = (a: store.AccountRow): DirectoryAccount => ({ id: a.id, address: a.address, displayName: a.displayName, quotaBytes: a.quotaBytes });

  async function exact(addr: Address): Promise<Recipient | undefined> {
    const account = await store.findAccount(db, addr.address);
    if (account && !account.disabled) return { kind: 'account', account: toAccount(account) };
    if (account) return undefined;
    const targets = await store.findAliasTargets(db, addr.address);
    if (targets) return { kind: 'alias', targets };
    const group = await store.findGroupId(db, addr.address);
    if (group !== undefined) return { kind: 'group', members: await store.groupMembers(db, group) };
    return undefined;
  }

  return {
    async authenticate(login, secret) {
      let addr: Address;
      try {
        addr = parseAddress(login);
      } catch (err) {
        if (err instanceof InvalidInputError) return undefined;
        throw err;
      }
      const account = await store.findAccount(db, addr.address);
      const hash = account?.source === 'local' && !account.disabled ? account.passwordHash : null;
      const ok = await verifyPassword(secret, hash ?? DUMMY_HASH);
      return ok && account && hash ? toAccount(account) : undefined;
    },

    async lookup(address) {
      let addr: Address;
      try {
        addr = parseAddress(address);
      } catch (err) {
        if (err instanceof InvalidInputError) return undefined;
        throw err;
      }
      const found = await exact(addr);
      if (found) return found;
      const base = stripSubaddress(addr, opts.subaddressSeparator());
      if (base) {
        const viaBase = await exact(base);
        if (viaBase) return viaBase;
      }
      // Catch-all last: a known address (or its base) always wins.
      const targets = await store.findAliasTargets(db, `@${addr.domain}`);
      return targets ? { kind: 'alias', targets } : undefined;
    },
  };
}
