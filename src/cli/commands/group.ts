/** tegu group add|list|rm|members */
import { addGroup, changeGroupMembers, getGroupMembers, listGroups, removeGroup } from '../../core/groups.ts';
import { parseAddress } from '../../lib/address.ts';
import { list, str } from '../args.ts';
import { withCore } from '../database.ts';
import { emit, listOutput } from '../output.ts';
import type { CommandGroup } from '../types.ts';
import { creatingDomain, domainNote } from './shared.ts';

function membersLines(address: string, members: readonly string[]): string[] {
  return members.length === 0 ? [`(group ${address} has no members)`] : [...members];
}

export const groupCommands: CommandGroup = {
  name: 'group',
  summary: 'manage groups (distribution lists)',
  commands: [
    {
      name: 'add',
      summary: 'add a group; mail to its address reaches every member',
      args: [{ name: 'ADDRESS' }, { name: 'MEMBER', variadic: true, optional: true }],
      options: { name: { type: 'string', value: 'NAME', description: 'display name of the group' } },
      run: async (inv) => {
        const [input = '', ...members] = inv.args;
        const addr = parseAddress(input);
        const displayName = str(inv.opts, 'name') ?? '';
        await withCore(inv, async (ctx) => {
          const created = await creatingDomain(ctx, addr.domain, () =>
            addGroup(ctx, { address: addr.address, displayName, members, createDomain: true }),
          );
          const stored = await getGroupMembers(ctx, addr.address);
          emit(inv, { address: addr.address, displayName, members: stored, domainCreated: created }, [
            ...domainNote(addr.domain, created),
            `added group ${addr.address} with ${stored.length} member${stored.length === 1 ? '' : 's'}`,
          ]);
        });
      },
    },
    {
      name: 'list',
      summary: 'list groups and their members',
      args: [],
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const groups = await listGroups(ctx);
          listOutput(
            inv,
            groups.map((g) => ({ address: g.address, displayName: g.displayName, members: g.members })),
            'groups',
            ['GROUP', 'NAME', 'MEMBERS'],
            groups.map((g) => [g.address, g.displayName, g.members.join(', ')]),
          );
        }),
    },
    {
      name: 'rm',
      summary: 'remove a group (its members are not touched)',
      args: [{ name: 'ADDRESS' }],
      run: async (inv) => {
        const { address } = parseAddress(inv.args[0]!);
        await withCore(inv, async (ctx) => {
          await removeGroup(ctx, address);
          emit(inv, { removed: address }, `removed group ${address}`);
        });
      },
    },
    {
      name: 'members',
      summary: "print a group's members, after adding and removing the given ones",
      args: [{ name: 'ADDRESS' }],
      options: {
        add: { type: 'string', multiple: true, value: 'ADDRESS', description: 'add this member (repeatable)' },
        remove: { type: 'string', multiple: true, value: 'ADDRESS', description: 'remove this member (repeatable)' },
      },
      run: async (inv) => {
        const { address } = parseAddress(inv.args[0]!);
        const add = list(inv.opts, 'add');
        const remove = list(inv.opts, 'remove');
        await withCore(inv, async (ctx) => {
          const members =
            add.length + remove.length === 0
              ? await getGroupMembers(ctx, address)
              : await changeGroupMembers(ctx, address, { add, remove });
          emit(inv, { address, members }, membersLines(address, members));
        });
      },
    },
  ],
};
