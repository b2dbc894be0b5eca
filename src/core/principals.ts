/**
 * Shared steps for creating anything with an address (account, alias, group):
 * they share one namespace, so creation takes the address lock, checks every
 * kind, and finds (or creates) the domain, all in the caller's transaction.
 */
import { AlreadyExistsError, NotFoundError } from '../lib/errors.ts';
import type { DomainId } from '../lib/ids.ts';
import type { Queryable } from '../store/db.ts';
import * as store from '../store/directory.ts';
import { insertAudit } from '../store/ops.ts';
import type { CoreContext } from './context.ts';

export interface CreateOptions {
  /** Create the domain when it does not exist yet (the CLI does; an API may not). */
  createDomain?: boolean;
}

export async function claimAddress(
  ctx: CoreContext,
  tx: Queryable,
  address: string,
  domain: string,
  opts: CreateOptions,
): Promise<DomainId> {
  await store.lockAddress(tx, address);
  const kind = await store.addressKind(tx, address);
  if (kind) throw new AlreadyExistsError(`${address} already exists (as ${kind === 'account' ? 'a user' : `an ${kind === 'alias' ? 'alias' : 'group'}`})`);
  let d = await store.findDomain(tx, domain);
  if (!d) {
    if (!opts.createDomain) throw new NotFoundError(`domain ${domain} does not exist; add it first`);
    await store.lockAddress(tx, `@@domain:${domain}`);
    d = (await store.findDomain(tx, domain)) ?? (await store.insertDomain(tx, domain));
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'domain.create', target: domain });
  }
  return d.id;
}
