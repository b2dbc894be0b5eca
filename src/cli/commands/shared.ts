/** Helpers for the commands that create addresses (user, alias, group add). */
import type { CoreContext } from '../../core/context.ts';
import { listDomains } from '../../core/domains.ts';

/**
 * Runs `create` (which passes createDomain: true to core) and reports whether
 * the address's domain was created on the way, for the "created domain" note.
 * The check before is not atomic with the creation; it only informs the note.
 */
export async function creatingDomain(ctx: CoreContext, domain: string, create: () => Promise<void>): Promise<boolean> {
  const existed = (await listDomains(ctx)).some((d) => d.name === domain);
  await create();
  return !existed;
}

export function domainNote(domain: string, created: boolean): string[] {
  return created ? [`created domain ${domain}`] : [];
}
