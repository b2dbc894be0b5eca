/** DKIM signing keys of our domains (dkim_keys; migrations/0006-outbound-queue.ts). */
import type { DomainId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimKeyRow {
  id: number;
  domainId: DomainId;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKey: Buffer;
  active: boolean;
  createdAt: Date;
}

type KeyRow = {
  id: string;
  domain_id: string;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  private_key: string;
  public_key: Buffer;
  active: boolean;
  created_at: Date | string;
};

function row(r: KeyRow): DkimKeyRow {
  return {
    id: Number(r.id),
    domainId: Number(r.domain_id) as DomainId,
    domain: r.domain,
    selector: r.selector,
    algorithm: r.algorithm,
    privateKeyPem: r.private_key,
    publicKey: r.public_key,
    active: r.active,
    createdAt: new Date(r.created_at),
  };
}

const COLUMNS = 'k.id, k.domain_id, d.name AS domain, k.selector, k.algorithm, k.private_key, k.public_key, k.active, k.created_at';

/** The keys of a domain (by name), active ones first, newest first. */
export async function dkimKeysOf(q: Queryable, domain: string, opts: { activeOnly?: boolean } = {}): Promise<DkimKeyRow[]> {
  const rows = await q.query<KeyRow>(
    `SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
      WHERE d.name = $1 AND (k.active OR NOT $2) ORDER BY k.active DESC, k.created_at DESC, k.id DESC`,
    [domain.toLowerCase(), opts.activeOnly ?? false],
  );
  return rows.map(row);
}

export interface NewDkimKey {
  domainId: DomainId;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  publicKey: Buffer;
}

/** Inserts a key; undefined when the domain already has one with that selector. */
export async function insertDkimKey(q: Queryable, k: NewDkimKey): Promise<DkimKeyRow | undefined> {
  const rows = await q.query<KeyRow>(
    `WITH k AS (
       INSERT INTO dkim_keys(domain_id, selector, algorithm, private_key, public_key) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (domain_id, selector) DO NOTHING RETURNING *
     )
     SELECT ${COLUMNS} FROM k JOIN domains d ON d.id = k.domain_id`,
    [k.domainId, k.selector, k.algorithm, k.privateKeyPem, k.publicKey],
  );
  return rows[0] ? row(rows[0]) : undefined;
}

/** Stops signing with the domain's other keys of `algorithm` (rotation); their rows stay for the record. */
export async function deactivateOtherDkimKeys(q: Queryable, domainId: DomainId, algorithm: DkimAlgorithm, keepId: number): Promise<number> {
  const rows = await q.query('UPDATE dkim_keys SET active = false WHERE domain_id = $1 AND algorithm = $2 AND id <> $3 AND active RETURNING id', [
    domainId,
    algorithm,
    keepId,
  ]);
  return rows.length;
}
