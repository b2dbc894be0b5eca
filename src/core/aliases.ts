/**
 * Aliases: an address that forwards to one or more targets. "@example.com" is
 * the domain's catch-all (mail to unknown local parts of that domain).
 */
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import { parseAddress, parseAliasAddress } from '../lib/address.ts';
import * as store from '../store/directory.ts';
import { insertAudit } from '../store/ops.ts';
import type { CoreContext } from './context.ts';
import { claimAddress, type CreateOptions } from './principals.ts';

export type Alias = store.AliasRow;

export async function addAlias(ctx: CoreContext, address: string, targets: readonly string[], opts: CreateOptions = {}): Promise<void> {
  const addr = parseAliasAddress(address);
  if (targets.length === 0) throw new InvalidInputError('an alias needs at least one target');
  const normalized = [...new Set(targets.map((t) => parseAddress(t).address))];
  if (normalized.includes(addr.address)) throw new InvalidInputError('an alias cannot point to itself');
  await ctx.db.transaction(async (tx) => {
    const domainId = await claimAddress(ctx, tx, addr.address, addr.domain, opts);
    await store.insertAlias(tx, domainId, addr.address, normalized);
    await insertAudit(tx, {
      actor: ctx.actor, node: ctx.node, action: 'alias.create', target: addr.address, details: { targets: normalized },
    });
  });
}

export function listAliases(ctx: CoreContext): Promise<Alias[]> {
  return store.listAliases(ctx.db);
}

export async function removeAlias(ctx: CoreContext, address: string): Promise<void> {
  const addr = parseAliasAddress(address);
  await ctx.db.transaction(async (tx) => {
    if (!(await store.deleteAlias(tx, addr.address))) throw new NotFoundError(`alias ${addr.address} does not exist`);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'alias.delete', target: addr.address });
  });
}
