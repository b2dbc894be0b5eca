/** tegu domain add|list|rm */
import { addDomain, listDomains, removeDomain, type Domain } from '../../core/domains.ts';
import { normalizeDomain } from '../../lib/address.ts';
import { withCore } from '../database.ts';
import { emit, isoDate, listOutput } from '../output.ts';
import type { CommandGroup } from '../types.ts';

const domainJson = (d: Domain) => ({ name: d.name, createdAt: d.createdAt });

export const domainCommands: CommandGroup = {
  name: 'domain',
  summary: 'manage mail domains',
  commands: [
    {
      name: 'add',
      summary: 'add a mail domain',
      details: 'Internationalized names are stored in their ASCII (punycode) form.',
      args: [{ name: 'NAME' }],
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const d = await addDomain(ctx, inv.args[0]!);
          emit(inv, domainJson(d), `added domain ${d.name}`);
        }),
    },
    {
      name: 'list',
      summary: 'list the mail domains',
      args: [],
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const domains = await listDomains(ctx);
          listOutput(inv, domains.map(domainJson), 'domains', ['DOMAIN', 'CREATED'], domains.map((d) => [d.name, isoDate(d.createdAt)]));
        }),
    },
    {
      name: 'rm',
      summary: 'remove a domain that has no users, aliases or groups left',
      args: [{ name: 'NAME' }],
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const name = normalizeDomain(inv.args[0]!);
          await removeDomain(ctx, name);
          emit(inv, { removed: name }, `removed domain ${name}`);
        }),
    },
  ],
};
