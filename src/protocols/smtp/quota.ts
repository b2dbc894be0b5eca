/**
 * Mailbox quota in SMTP and LMTP (core/quota.ts decides, this file answers).
 *
 * RCPT: checked with the SIZE the client declared at MAIL (RFC 1870), or as
 * "is the mailbox already full" without it. A recipient whose accounts are all
 * over quota is refused with 452 4.2.2, or 552 5.2.2 when smtp.overQuotaReply
 * is permanent (RFC 3463 X.2.2 "Mailbox full"). An alias or group that reaches
 * several accounts is refused only when every one of them is full; otherwise
 * the full ones are left out (and logged) and the others get the message: a
 * list must not bounce for everyone because one member is full.
 *
 * End of DATA, LMTP only: the real size is known, and LMTP answers each
 * recipient on its own (RFC 2033 4.2), so a recipient this message would put
 * over quota gets the quota reply and the others are delivered. SMTP has one
 * reply for all recipients, so it does not check again: a message accepted at
 * RCPT is stored even when it takes the mailbox past its limit (a grace of one
 * message, like Dovecot's quota_grace).
 */
import type { QuotaSubject } from '../../core/quota.ts';
import type { AccountId } from '../../lib/ids.ts';
import type { SessionApi } from './commands/api.ts';
import { OVER_QUOTA, OVER_QUOTA_TEMPORARY, type SmtpReply } from './replies.ts';
import type { AcceptedRecipient } from './state.ts';

export function overQuotaReply(s: SessionApi): SmtpReply {
  return s.services.limits().overQuotaReply === 'permanent' ? OVER_QUOTA : OVER_QUOTA_TEMPORARY;
}

/** The accounts of one recipient that can take `size` more octets (0: size not known); empty when all are full. */
export async function withinQuota<T extends QuotaSubject>(
  s: SessionApi,
  address: string,
  accounts: readonly T[],
  size: number,
): Promise<T[]> {
  const over = new Set((await s.services.checkQuota(accounts, size)).filter((c) => c.over).map((c) => c.accountId));
  if (over.size === 0) return [...accounts];
  const keep = accounts.filter((a) => !over.has(a.accountId));
  if (keep.length === 0) s.log.info({ rcpt: address, size }, 'over quota: recipient refused');
  else s.log.warn({ rcpt: address, size, accounts: [...over] }, 'over quota: these accounts of the recipient do not get the message');
  return keep;
}

/**
 * LMTP at the end of DATA: drops from `targets` the accounts this message
 * would put over quota, and returns each recipient's own reply (the quota
 * reply when all its accounts were dropped, else undefined: the common reply).
 */
export async function lmtpQuota(
  s: SessionApi,
  recipients: readonly AcceptedRecipient[],
  targets: Map<AccountId, QuotaSubject>,
  size: number,
): Promise<(SmtpReply | undefined)[]> {
  const checks = await s.services.checkQuota([...targets.values()], size);
  const over = new Set(checks.filter((c) => c.over).map((c) => c.accountId));
  if (over.size === 0) return [];
  for (const id of over) targets.delete(id);
  const reply = overQuotaReply(s);
  return recipients.map((r) => {
    const refused = r.local.every((l) => over.has(l.accountId));
    if (refused) s.log.info({ rcpt: r.address, size }, 'over quota at end of data: recipient refused');
    else if (r.local.some((l) => over.has(l.accountId))) s.log.warn({ rcpt: r.address, size }, 'over quota at end of data: some accounts of the recipient do not get the message');
    return refused ? reply : undefined;
  });
}
