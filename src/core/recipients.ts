/**
 * Recipient resolution for delivery: what a set of envelope recipients means
 * in terms of local accounts and remote addresses, after aliases, groups,
 * catch-alls and subaddresses (the Directory decides each step).
 *
 * Aliases and groups may point at each other; expansion is breadth-first with
 * a visited set (loops end) and bounded in depth and in the number of
 * addresses it produces, so one address can never make delivery unbounded.
 */
import type { AccountId } from '../lib/ids.ts';
import type { Directory, DirectoryAccount } from '../directory/types.ts';

export const MAX_EXPANSION_DEPTH = 8;
export const MAX_EXPANDED_ADDRESSES = 10_000;

export interface LocalRecipient {
  account: DirectoryAccount;
  /** The envelope address that led here (for Delivered-To and logs). */
  via: string;
}

export interface ResolvedRecipients {
  /** One entry per account, however many addresses led to it. */
  local: LocalRecipient[];
  /** Addresses outside our domains that aliases or groups point to (forwarding). */
  remote: string[];
  /** True when expansion stopped at a limit (depth or count). */
  truncated: boolean;
}

export interface ResolveOptions {
  /** Is this domain one of ours? Addresses there that resolve to nothing are dropped, not forwarded. */
  isLocalDomain: (domain: string) => Promise<boolean>;
}

/** Resolves one envelope recipient. Returns undefined when the address reaches nothing (550 5.1.1). */
export async function resolveRecipient(
  directory: Directory,
  address: string,
  opts: ResolveOptions,
): Promise<ResolvedRecipients | undefined> {
  const first = await directory.lookup(address);
  if (!first) return undefined;
  const local = new Map<AccountId, LocalRecipient>();
  const remote = new Set<string>();
  const seen = new Set<string>([address.toLowerCase()]);
  let truncated = false;
  let frontier: { address: string; found: Awaited<ReturnType<Directory['lookup']>> }[] = [{ address, found: first }];
  for (let depth = 0; frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const { address: addr, found } of frontier) {
      if (!found) {
        const domain = addr.slice(addr.lastIndexOf('@') + 1);
        if (!(await opts.isLocalDomain(domain))) remote.add(addr);
        continue;
      }
      if (found.kind === 'account') {
        if (!local.has(found.account.id)) local.set(found.account.id, { account: found.account, via: address });
        continue;
      }
      for (const target of found.kind === 'alias' ? found.targets : found.members) {
        if (seen.has(target)) continue;
        if (seen.size >= MAX_EXPANDED_ADDRESSES) {
          truncated = true;
          break;
        }
        seen.add(target);
        next.push(target);
      }
    }
    if (depth + 1 >= MAX_EXPANSION_DEPTH && next.length > 0) {
      truncated = true;
      break;
    }
    frontier = await Promise.all(next.map(async (a) => ({ address: a, found: await directory.lookup(a) })));
  }
  return { local: [...local.values()], remote: [...remote], truncated };
}
