/**
 * Domains, accounts, aliases and groups: the local directory. Accounts,
 * aliases and groups share one address namespace; callers serialise writers
 * of one address with lockAddress() inside their transaction.
 */
import type { AccountId, AliasId, DomainId, GroupId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

export interface DomainRow {
  id: DomainId;
  name: string;
  createdAt: Date;
}

export interface AccountRow {
  id: AccountId;
  domainId: DomainId;
  address: string;
  displayName: string;
  passwordHash: string | null;
  source: 'local' | 'ldap';
  quotaBytes: number | null;
  disabled: boolean;
  createdAt: Date;
}

export interface AliasRow {
  id: AliasId;
  address: string;
  targets: string[];
}

export interface GroupRow {
  id: GroupId;
  address: string;
  displayName: string;
  members: string[];
}

export type AddressKind = 'account' | 'alias' | 'group';

/** Serialises creators of one address until the transaction ends (all kinds share the namespace). */
export async function lockAddress(tx: Queryable, address: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [address]);
}

export async function addressKind(q: Queryable, address: string): Promise<AddressKind | undefined> {
  const rows = await q.query<{ kind: AddressKind }>(
    `SELECT 'account' AS kind FROM accounts WHERE address = $1
     UNION ALL SELECT 'alias' FROM aliases WHERE address = $1
     UNION ALL SELECT 'group' FROM groups WHERE address = $1
     LIMIT 1`,
    [address],
  );
  return rows[0]?.kind;
}

// ---- domains

const domainOf = (r: Record<string, unknown>): DomainRow => ({
  id: Number(r.id) as DomainId,
  name: r.name as string,
  createdAt: r.created_at as Date,
});

export async function insertDomain(q: Queryable, name: string): Promise<DomainRow> {
  const rows = await q.query('INSERT INTO domains(name) VALUES ($1) RETURNING id, name, created_at', [name]);
  return domainOf(rows[0]!);
}

export async function listDomains(q: Queryable): Promise<DomainRow[]> {
  return (await q.query('SELECT id, name, created_at FROM domains ORDER BY name')).map(domainOf);
}

export async function findDomain(q: Queryable, name: string): Promise<DomainRow | undefined> {
  const rows = await q.query('SELECT id, name, created_at FROM domains WHERE name = $1', [name]);
  return rows[0] ? domainOf(rows[0]) : undefined;
}

/** How many accounts, aliases and groups still live in the domain. */
export async function domainUsage(q: Queryable, id: DomainId): Promise<number> {
  const rows = await q.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM accounts WHERE domain_id = $1)
          + (SELECT count(*) FROM aliases WHERE domain_id = $1)
          + (SELECT count(*) FROM groups WHERE domain_id = $1) AS n`,
    [id],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function deleteDomain(q: Queryable, id: DomainId): Promise<void> {
  await q.query('DELETE FROM domains WHERE id = $1', [id]);
}

// ---- accounts

const ACCOUNT_COLS = 'id, domain_id, address, display_name, password_hash, source, quota_bytes, disabled, created_at';
const accountOf = (r: Record<string, unknown>): AccountRow => ({
  id: Number(r.id) as AccountId,
  domainId: Number(r.domain_id) as DomainId,
  address: r.address as string,
  displayName: r.display_name as string,
  passwordHash: (r.password_hash as string | null) ?? null,
  source: r.source as 'local' | 'ldap',
  quotaBytes: r.quota_bytes === null ? null : Number(r.quota_bytes),
  disabled: r.disabled as boolean,
  createdAt: r.created_at as Date,
});

export interface NewAccount {
  domainId: DomainId;
  address: string;
  displayName: string;
  passwordHash: string | null;
  source: 'local' | 'ldap';
  quotaBytes: number | null;
}

export async function insertAccount(q: Queryable, a: NewAccount): Promise<AccountRow> {
  const rows = await q.query(
    `INSERT INTO accounts(domain_id, address, display_name, password_hash, source, quota_bytes)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ACCOUNT_COLS}`,
    [a.domainId, a.address, a.displayName, a.passwordHash, a.source, a.quotaBytes],
  );
  return accountOf(rows[0]!);
}

export async function listAccounts(q: Queryable, domainId?: DomainId): Promise<AccountRow[]> {
  const rows =
    domainId === undefined
      ? await q.query(`SELECT ${ACCOUNT_COLS} FROM accounts ORDER BY address`)
      : await q.query(`SELECT ${ACCOUNT_COLS} FROM accounts WHERE domain_id = $1 ORDER BY address`, [domainId]);
  return rows.map(accountOf);
}

export async function findAccount(q: Queryable, address: string): Promise<AccountRow | undefined> {
  const rows = await q.query(`SELECT ${ACCOUNT_COLS} FROM accounts WHERE address = $1`, [address]);
  return rows[0] ? accountOf(rows[0]) : undefined;
}

export async function updatePasswordHash(q: Queryable, id: AccountId, hash: string): Promise<void> {
  await q.query('UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1', [id, hash]);
}

export async function deleteAccount(q: Queryable, id: AccountId): Promise<void> {
  await q.query('DELETE FROM accounts WHERE id = $1', [id]);
}

// ---- aliases

export async function insertAlias(q: Queryable, domainId: DomainId, address: string, targets: readonly string[]): Promise<AliasId> {
  const rows = await q.query<{ id: string }>('INSERT INTO aliases(domain_id, address) VALUES ($1, $2) RETURNING id', [domainId, address]);
  const id = Number(rows[0]!.id) as AliasId;
  await q.query('INSERT INTO alias_targets(alias_id, target) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [id, [...targets]]);
  return id;
}

export async function listAliases(q: Queryable): Promise<AliasRow[]> {
  const rows = await q.query<{ id: string; address: string; targets: string[] | null }>(
    `SELECT a.id, a.address, array_agg(t.target ORDER BY t.target) FILTER (WHERE t.target IS NOT NULL) AS targets
       FROM aliases a LEFT JOIN alias_targets t ON t.alias_id = a.id
      GROUP BY a.id, a.address ORDER BY a.address`,
  );
  return rows.map((r) => ({ id: Number(r.id) as AliasId, address: r.address, targets: r.targets ?? [] }));
}

export async function findAliasTargets(q: Queryable, address: string): Promise<string[] | undefined> {
  const rows = await q.query<{ target: string | null }>(
    `SELECT t.target FROM aliases a LEFT JOIN alias_targets t ON t.alias_id = a.id WHERE a.address = $1 ORDER BY t.target`,
    [address],
  );
  if (rows.length === 0) return undefined;
  return rows.flatMap((r) => (r.target ? [r.target] : []));
}

export async function deleteAlias(q: Queryable, address: string): Promise<boolean> {
  return (await q.query('DELETE FROM aliases WHERE address = $1 RETURNING id', [address])).length > 0;
}

// ---- groups

export async function insertGroup(q: Queryable, domainId: DomainId, address: string, displayName: string): Promise<GroupId> {
  const rows = await q.query<{ id: string }>(
    'INSERT INTO groups(domain_id, address, display_name) VALUES ($1, $2, $3) RETURNING id',
    [domainId, address, displayName],
  );
  return Number(rows[0]!.id) as GroupId;
}

export async function listGroups(q: Queryable): Promise<GroupRow[]> {
  const rows = await q.query<{ id: string; address: string; display_name: string; members: string[] | null }>(
    `SELECT g.id, g.address, g.display_name,
            array_agg(m.member ORDER BY m.member) FILTER (WHERE m.member IS NOT NULL) AS members
       FROM groups g LEFT JOIN group_members m ON m.group_id = g.id
      GROUP BY g.id ORDER BY g.address`,
  );
  return rows.map((r) => ({ id: Number(r.id) as GroupId, address: r.address, displayName: r.display_name, members: r.members ?? [] }));
}

export async function findGroupId(q: Queryable, address: string): Promise<GroupId | undefined> {
  const rows = await q.query<{ id: string }>('SELECT id FROM groups WHERE address = $1', [address]);
  return rows[0] ? (Number(rows[0].id) as GroupId) : undefined;
}

export async function groupMembers(q: Queryable, id: GroupId): Promise<string[]> {
  const rows = await q.query<{ member: string }>('SELECT member FROM group_members WHERE group_id = $1 ORDER BY member', [id]);
  return rows.map((r) => r.member);
}

export async function addGroupMembers(q: Queryable, id: GroupId, members: readonly string[]): Promise<void> {
  await q.query('INSERT INTO group_members(group_id, member) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [id, [...members]]);
}

export async function removeGroupMembers(q: Queryable, id: GroupId, members: readonly string[]): Promise<number> {
  const rows = await q.query('DELETE FROM group_members WHERE group_id = $1 AND member = ANY($2::text[]) RETURNING member', [id, [...members]]);
  return rows.length;
}

export async function deleteGroup(q: Queryable, address: string): Promise<boolean> {
  return (await q.query('DELETE FROM groups WHERE address = $1 RETURNING id', [address])).length > 0;
}

/** Is `alias` (not a catch-all) an alias with `target` among its targets? */
export async function aliasHasTarget(q: Queryable, alias: string, target: string): Promise<boolean> {
  const rows = await q.query(
    'SELECT 1 FROM aliases a JOIN alias_targets t ON t.alias_id = a.id WHERE a.address = $1 AND t.target = $2 LIMIT 1',
    [alias, target],
  );
  return rows.length > 0;
}
