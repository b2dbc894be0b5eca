/** Mail domains: add, list, remove. */
import { AlreadyExistsError, InUseError, NotFoundError } from '../lib/errors.ts';
import { normalizeDomain } from '../lib/address.ts';
import * as store from '../store/directory.ts';
import { insertAudit } from '../store/ops.ts';
import { isUniqueViolation } from '../store/sql-error.ts';
import type { CoreContext } from './context.ts';

export type Domain = store.DomainRow;

export async function addDomain(ctx: CoreContext, input: string): Promise<Domain> {
  const name = normalizeDomain(input);
  try {
    return await ctx.db.transaction(async (tx) => {
      const d = await store.insertDomain(tx, name);
      await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'domain.create', target: name });
      return d;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AlreadyExistsError(`domain ${name} already exists`);
    throw err;
  }
}

export function listDomains(ctx: CoreContext): Promise<Domain[]> {
  return store.listDomains(ctx.db);
}

/** Removes an empty domain; one that still has accounts, aliases or groups is refused. */
export async function removeDomain(ctx: CoreContext, input: string): Promise<void> {
  const name = normalizeDomain(input);
  await ctx.db.transaction(async (tx) => {
    const d = await store.findDomain(tx, name);
    if (!d) throw new NotFoundError(`domain ${name} does not exist`);
    const used = await store.domainUsage(tx, d.id);
    if (used > 0) throw new InUseError(`domain ${name} still has ${used} accounts, aliases or groups; remove them first`);
    await store.deleteDomain(tx, d.id);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'domain.delete', target: name });
  });
}
