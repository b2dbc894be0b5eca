/** tegu domain add|list|rm */
import { addDomain, listDomains, removeDomain, type Domain } from '../../core/domains.ts';
import { ensureDkimKey } from '../../core/outbound.ts';
import { flag, str } from '../args.ts';
import { normalizeDomain } from '../../lib/address.ts';
import { InvalidInputError } from '../../lib/errors.ts';
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
    {
      name: 'dkim',
      summary: "print the domain's DKIM DNS record, generating its signing key the first time",
      details:
        'Outbound mail whose From is in the domain is signed (RFC 6376, relaxed/relaxed) with the active key. ' +
        'Publish the printed TXT record, then send a test message. --rotate makes a new key under a new selector.',
      args: [{ name: 'NAME' }],
      options: {
        algorithm: { type: 'string', value: 'ALG', description: 'rsa-sha256 (default, 2048 bits) or ed25519-sha256 (RFC 8463)' },
        rotate: { type: 'boolean', description: 'generate a new key (new selector) even if one exists' },
      },
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const algorithm = str(inv.opts, 'algorithm') ?? 'rsa-sha256';
          if (algorithm !== 'rsa-sha256' && algorithm !== 'ed25519-sha256') throw new InvalidInputError(`unknown DKIM algorithm: ${algorithm}`);
          const r = await ensureDkimKey(ctx.db, normalizeDomain(inv.args[0]!), { algorithm, rotate: flag(inv.opts, 'rotate') });
          emit(
            inv,
            { domain: r.domain, selector: r.selector, algorithm: r.algorithm, name: r.name, value: r.value, created: r.created },
            `${r.created ? 'generated a new' : 'the'} ${r.algorithm} key of ${r.domain}, selector ${r.selector}; publish:\n${r.zoneLine}`,
          );
        }),
    },
  ],
};
