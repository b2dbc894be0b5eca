/** tegu alias add|list|rm */
import { addAlias, listAliases, removeAlias } from '../../core/aliases.ts';
import { parseAddress, parseAliasAddress } from '../../lib/address.ts';
import { withCore } from '../database.ts';
import { emit, listOutput } from '../output.ts';
import type { CommandGroup } from '../types.ts';
import { creatingDomain, domainNote } from './shared.ts';

export const aliasCommands: CommandGroup = {
  name: 'alias',
  summary: 'manage aliases (forwarding addresses and catch-alls)',
  commands: [
    {
      name: 'add',
      summary: 'add an alias that forwards to one or more addresses',
      details: 'ADDRESS "@example.com" is the catch-all of example.com: it receives mail for unknown addresses of the domain.',
      args: [{ name: 'ADDRESS' }, { name: 'TARGET', variadic: true }],
      run: async (inv) => {
        const [input = '', ...targets] = inv.args;
        const addr = parseAliasAddress(input);
        await withCore(inv, async (ctx) => {
          const created = await creatingDomain(ctx, addr.domain, () => addAlias(ctx, addr.address, targets, { createDomain: true }));
          const to = [...new Set(targets.map((t) => parseAddress(t).address))];
          emit(inv, { address: addr.address, targets: to, domainCreated: created }, [
            ...domainNote(addr.domain, created),
            `added alias ${addr.address} -> ${to.join(', ')}`,
          ]);
        });
      },
    },
    {
      name: 'list',
      summary: 'list aliases and their targets',
      args: [],
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const aliases = await listAliases(ctx);
          listOutput(
            inv,
            aliases.map((a) => ({ address: a.address, targets: a.targets })),
            'aliases',
            ['ALIAS', 'TARGETS'],
            aliases.map((a) => [a.address, a.targets.join(', ')]),
          );
        }),
    },
    {
      name: 'rm',
      summary: 'remove an alias',
      args: [{ name: 'ADDRESS' }],
      run: async (inv) => {
        const addr = parseAliasAddress(inv.args[0]!);
        await withCore(inv, async (ctx) => {
          await removeAlias(ctx, addr.address);
          emit(inv, { removed: addr.address }, `removed alias ${addr.address}`);
        });
      },
    },
  ],
};
