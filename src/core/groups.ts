/** Groups (distribution lists): mail to the group address reaches every member. */
import { NotFoundError } from '../lib/errors.ts';
import { parseAddress } from '../lib/address.ts';
import * as store from '../store/directory.ts';
import { insertAudit } from '../store/ops.ts';
import type { CoreContext } from './context.ts';
import { claimAddress, type CreateOptions } from './principals.ts';

export type Group = store.GroupRow;

export interface NewGroupInput extends CreateOptions {
  address: string;
  displayName?: string;
  members?: readonly string[];
}

export async function addGroup(ctx: CoreContext, input: NewGroupInput): Promise<void> {
  const addr = parseAddress(input.address);
  const members = [...new Set((input.members ?? []).map((m) => parseAddress(m).address))];
  await ctx.db.transaction(async (tx) => {
    const domainId = await claimAddress(ctx, tx, addr.address, addr.domain, input);
    const id = await store.insertGroup(tx, domainId, addr.address, input.displayName ?? '');
    if (members.length > 0) await store.addGroupMembers(tx, id, members);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'group.create', target: addr.address, details: { members } });
  });
}

export function listGroups(ctx: CoreContext): Promise<Group[]> {
  return store.listGroups(ctx.db);
}

export async function removeGroup(ctx: CoreContext, address: string): Promise<void> {
  const addr = parseAddress(address);
  await ctx.db.transaction(async (tx) => {
    if (!(await store.deleteGroup(tx, addr.address))) throw new NotFoundError(`group ${addr.address} does not exist`);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'group.delete', target: addr.address });
  });
}

export async function getGroupMembers(ctx: CoreContext, address: string): Promise<string[]> {
  const addr = parseAddress(address);
  const id = await store.findGroupId(ctx.db, addr.address);
  if (id === undefined) throw new NotFoundError(`group ${addr.address} does not exist`);
  return store.groupMembers(ctx.db, id);
}

/** Adds and removes members in one transaction; returns the members afterwards. */
export async function changeGroupMembers(
  ctx: CoreContext,
  address: string,
  change: { add?: readonly string[]; remove?: readonly string[] },
): Promise<string[]> {
  const addr = parseAddress(address);
  const add = [...new Set((change.add ?? []).map((m) => parseAddress(m).address))];
  const remove = [...new Set((change.remove ?? []).map((m) => parseAddress(m).address))];
  return ctx.db.transaction(async (tx) => {
    const id = await store.findGroupId(tx, addr.address);
    if (id === undefined) throw new NotFoundError(`group ${addr.address} does not exist`);
    if (add.length) await store.addGroupMembers(tx, id, add);
    if (remove.length) await store.removeGroupMembers(tx, id, remove);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'group.members', target: addr.address, details: { add, remove } });
    return store.groupMembers(tx, id);
  });
}
