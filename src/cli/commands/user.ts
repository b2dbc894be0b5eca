/** tegu user add|list|passwd|quota|rm */
import { addAccount, checkPassword, listAccounts, removeAccount, setPassword, type Account } from '../../core/accounts.ts';
import { getQuota, parseQuotaSize, setQuota, usedBytesByAccount, type AccountQuota } from '../../core/quota.ts';
import { parseAddress } from '../../lib/address.ts';
import { flag, str, type OptionSpecs } from '../args.ts';
import { withCore } from '../database.ts';
import { emit, isoDate, listOutput } from '../output.ts';
import { readNewPassword } from '../password.ts';
import type { CommandGroup, Invocation } from '../types.ts';
import { creatingDomain, domainNote } from './shared.ts';

const PASSWORD_STDIN: OptionSpecs = {
  'password-stdin': {
    type: 'boolean',
    description: 'read the password from the first line of standard input (the default when stdin is not a terminal)',
  },
};

const PASSWORD_HELP =
  'In a terminal the password is asked twice and not shown; otherwise it is read from the first line of standard input:\n' +
  "  printf '%s\\n' \"$PASSWORD\" | tegu user add ADDRESS";

/** What `user list --json` shows of an account: never the password hash. */
const accountJson = (a: Account, usedBytes: number) => ({
  address: a.address,
  displayName: a.displayName,
  source: a.source,
  quotaBytes: a.quotaBytes,
  usedBytes,
  disabled: a.disabled,
  createdAt: a.createdAt,
});

/** 1536 -> "1.5 KiB" (binary units, as `user quota` reads them). */
function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number(v.toFixed(1))} ${units[i]}`;
}

function quotaLine(q: AccountQuota): string {
  const limit = q.limitBytes === 0 ? 'unlimited' : formatBytes(q.limitBytes);
  const source = q.quotaBytes === null ? ' (the default, mailbox.defaultQuotaBytes)' : '';
  const pct = q.limitBytes === 0 ? '' : `, ${Math.floor((q.usedBytes * 100) / q.limitBytes)}%`;
  return `${q.address}: quota ${limit}${source}; used ${formatBytes(q.usedBytes)} in ${q.messages} message${q.messages === 1 ? '' : 's'}${pct}`;
}

/** Validates the address and reads the password before the database is opened (and locked). */
async function addressAndPassword(inv: Invocation): Promise<{ address: string; domain: string; password: string }> {
  const addr = parseAddress(inv.args[0]!);
  const password = await readNewPassword(inv.io, addr.address, flag(inv.opts, 'password-stdin'));
  checkPassword(password);
  return { address: addr.address, domain: addr.domain, password };
}

export const userCommands: CommandGroup = {
  name: 'user',
  summary: 'manage user accounts',
  commands: [
    {
      name: 'add',
      summary: 'add a user account (and its domain, when new) with the default mailboxes',
      details: PASSWORD_HELP,
      args: [{ name: 'ADDRESS' }],
      options: {
        name: { type: 'string', value: 'DISPLAY', description: 'display name, e.g. "Ada Lovelace"' },
        ...PASSWORD_STDIN,
      },
      run: async (inv) => {
        const { address, domain, password } = await addressAndPassword(inv);
        const displayName = str(inv.opts, 'name') ?? '';
        await withCore(inv, async (ctx) => {
          const created = await creatingDomain(ctx, domain, async () => {
            await addAccount(ctx, { address, password, displayName, createDomain: true });
          });
          emit(inv, { address, displayName, domainCreated: created }, [...domainNote(domain, created), `added user ${address}`]);
        });
      },
    },
    {
      name: 'list',
      summary: 'list user accounts',
      args: [],
      options: { domain: { type: 'string', value: 'DOMAIN', description: 'only the users of this domain' } },
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const accounts = await listAccounts(ctx, str(inv.opts, 'domain'));
          const used = await usedBytesByAccount(ctx);
          const usedOf = (a: Account): number => used.get(a.id) ?? 0;
          listOutput(
            inv,
            accounts.map((a) => accountJson(a, usedOf(a))),
            'users',
            ['ADDRESS', 'NAME', 'SOURCE', 'USED', 'CREATED'],
            accounts.map((a) => [a.address + (a.disabled ? ' (disabled)' : ''), a.displayName, a.source, formatBytes(usedOf(a)), isoDate(a.createdAt)]),
          );
        }),
    },
    {
      name: 'passwd',
      summary: "set a user's password",
      details: PASSWORD_HELP.replace('user add', 'user passwd'),
      args: [{ name: 'ADDRESS' }],
      options: PASSWORD_STDIN,
      run: async (inv) => {
        const { address, password } = await addressAndPassword(inv);
        await withCore(inv, async (ctx) => {
          await setPassword(ctx, address, password);
          emit(inv, { address, passwordChanged: true }, `changed the password of ${address}`);
        });
      },
    },
    {
      name: 'quota',
      summary: "show or set a user's storage quota",
      details:
        'SIZE is bytes, or with K, M, G or T (powers of 1024): 500M, 2G, 1.5G; 0 or unlimited: no limit;\n' +
        'default: the mailbox.defaultQuotaBytes setting. Without SIZE the quota and the usage are shown.\n' +
        'Mail to a user over quota is refused at RCPT (setting smtp.overQuotaReply: 452 4.2.2 or 552 5.2.2).',
      args: [{ name: 'ADDRESS' }, { name: 'SIZE', optional: true }],
      run: async (inv) => {
        const { address } = parseAddress(inv.args[0]!);
        const size = inv.args[1] === undefined ? undefined : parseQuotaSize(inv.args[1]);
        await withCore(inv, async (ctx) => {
          const q = size === undefined ? await getQuota(ctx, address) : await setQuota(ctx, address, size);
          emit(inv, q, quotaLine(q));
        });
      },
    },
    {
      name: 'rm',
      summary: 'remove a user account with all its mailboxes and messages',
      args: [{ name: 'ADDRESS' }],
      run: async (inv) => {
        const { address } = parseAddress(inv.args[0]!);
        await withCore(inv, async (ctx) => {
          await removeAccount(ctx, address);
          emit(inv, { removed: address }, `removed user ${address}`);
        });
      },
    },
  ],
};
