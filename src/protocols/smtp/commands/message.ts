/**
 * DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): receiving the message, then
 * delivering it. The final 250 is sent only after the delivery transaction
 * committed; a store failure answers 451 4.3.0 and stores nothing.
 * LMTP (RFC 2033 4.2) answers once per accepted recipient.
 */
import type { AccountId } from '../../../lib/ids.ts';
import type { BdatCommand } from '../parser/index.ts';
import type { DeliveryInput } from '../../../core/deliver.ts';
import type { SpooledMessage } from '../../../core/spool.ts';
import { headerFromAddresses } from '../../../core/outbound.ts';
import { parseHeaderBlock } from '../../../mail/headers.ts';
import {
  ACCESS_DENIED, BAD_SEQUENCE, CHUNK_OK, LOCAL_ERROR, MESSAGE_ACCEPTED, MESSAGE_TOO_BIG, NO_VALID_RECIPIENTS, SENDER_NOT_OWNED, START_MAIL,
  TOO_MANY_HOPS, TRANSACTION_FAILED, withText, type SmtpReply,
} from '../replies.ts';
import type { MailTransaction } from '../state.ts';
import { lmtpQuota } from '../quota.ts';
import { traceHeaders } from '../trace.ts';
import type { SessionApi } from './api.ts';

export function data(s: SessionApi): void {
  const tx = s.state.tx;
  if (!tx) return s.reply(withText(BAD_SEQUENCE, 'Need MAIL and RCPT before DATA'));
  if (tx.recipients.length === 0) return s.reply(NO_VALID_RECIPIENTS);
  if (tx.bdat || tx.params.body === 'BINARYMIME') return s.reply(withText(BAD_SEQUENCE, 'Use BDAT for this message')); // RFC 3030 3
  s.reply(START_MAIL);
  s.beginData();
}

export function bdat(s: SessionApi, cmd: BdatCommand): void {
  // RFC 3030 2: the chunk is read even when the command fails.
  s.beginBdat(cmd.size, cmd.last);
}

/** Called after the BDAT chunk was read: the reply for that chunk. */
export async function bdatDone(s: SessionApi, last: boolean): Promise<void> {
  const tx = s.state.tx;
  if (!tx) return s.reply(withText(BAD_SEQUENCE, 'Need MAIL and RCPT before BDAT'));
  tx.bdat = true;
  if (tx.recipients.length === 0) {
    tx.bdatFailed = true;
    return s.reply(NO_VALID_RECIPIENTS);
  }
  if (tx.bdatFailed) return s.reply(withText(TRANSACTION_FAILED, 'An earlier BDAT failed; send RSET'));
  if (tx.tooBig) {
    tx.bdatFailed = true;
    return s.reply(MESSAGE_TOO_BIG);
  }
  if (!last) return s.reply(withText(CHUNK_OK, `${tx.size} octets received`));
  await finish(s);
}

/** DATA body complete (decoder stats decide NUL handling). */
export async function dataDone(s: SessionApi, stats: { nulBytes: number }): Promise<void> {
  const tx = s.state.tx;
  if (!tx) return;
  if (tx.tooBig) {
    s.endTransaction();
    return finalReply(s, tx.recipients.length, MESSAGE_TOO_BIG);
  }
  if (stats.nulBytes > 0) {
    // NUL cannot be represented in most IMAP clients and is forbidden in RFC 5322 text.
    s.endTransaction();
    return finalReply(s, tx.recipients.length, withText(TRANSACTION_FAILED, 'Message contains NUL characters'));
  }
  await finish(s);
}

async function finish(s: SessionApi): Promise<void> {
  const tx = s.state.tx!;
  s.state.tx = undefined;
  const spool = tx.spool ?? s.services.openSpool();
  // with-protocol: RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP...), and RFC 6531 3.7.3
  // (UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA, UTF8LMTP...) for an SMTPUTF8 transaction.
  const kind = s.mode === 'lmtp' ? 'LMTP' : s.state.esmtp ? 'ESMTP' : 'SMTP';
  const protocol = (tx.params.smtputf8 ? kind.replace(/^E?/, 'UTF8') : kind) + (s.state.tls ? 'S' : '') + (s.state.user ? 'A' : '');
  const traceInfo = {
    mailFrom: tx.mailFrom,
    helo: s.state.helo ?? '',
    remoteAddress: s.state.remoteAddress,
    hostname: s.hostname,
    protocol,
    id: s.state.id,
    tls: s.state.tls,
    ...(tx.recipients.length === 1 ? { singleRecipient: tx.recipients[0]!.address } : {}),
  };
  const trace = traceHeaders(traceInfo);
  // One copy per account, whichever recipient addresses led to it.
  const targets = new Map<AccountId, { accountId: AccountId; mailbox: string; deliveredTo: string }>();
  for (const r of tx.recipients) {
    for (const l of r.local) if (!targets.has(l.accountId)) targets.set(l.accountId, { ...l, mailbox: 'INBOX' });
  }
  let result: SmtpReply;
  let perRecipient: (SmtpReply | undefined)[] = [];
  try {
    let message = await spool.finish();
    // RFC 5321 6.3: a message that has passed this many MTAs is in a loop.
    if (hopCount(message) >= MAX_HOPS) {
      s.log.warn({ from: tx.mailFrom }, 'mail loop: too many Received fields');
      await spool.discard();
      return finalReply(s, tx.recipients.length, TOO_MANY_HOPS);
    }
    let headers = trace;
    let authResults = '';
    let mailbox = 'INBOX';
    // Mail from other MTAs (not from our authenticated users, not LMTP behind another MTA).
    if (s.mode === 'mx' && !s.state.user) {
      const verdict = await s.services.verifyInbound(message, {
        ip: s.state.remoteAddress.replace(/^::ffff:/, ''),
        helo: s.state.helo ?? '',
        mailFrom: tx.mailFrom,
        hostname: s.hostname,
      });
      if (verdict?.action === 'reject') {
        // RFC 7489 10.3: reject during the SMTP transaction, after DATA.
        s.log.info({ from: tx.mailFrom, reason: verdict.reason }, 'rejected by DMARC policy');
        await spool.discard();
        return finalReply(s, tx.recipients.length, withText(ACCESS_DENIED, verdict.reason ?? 'Rejected by DMARC policy'));
      }
      if (verdict) {
        message = verdict.message;
        authResults = verdict.header;
        headers = Buffer.concat([trace, Buffer.from(verdict.header, 'utf8')]);
        if (verdict.action === 'quarantine') mailbox = 'Junk';
      }
    }
    for (const t of targets.values()) t.mailbox = mailbox;
    let outbound: DeliveryInput['outbound'];
    if (s.state.user && s.mode !== 'lmtp') {
      // Relayed on: Received only; Return-Path belongs to the final delivery (RFC 5321 4.4).
      const checked = await submissionChecks(s, tx, message, traceHeaders({ ...traceInfo, returnPath: false }));
      if ('reply' in checked) {
        await spool.discard();
        return finalReply(s, 1, checked.reply);
      }
      outbound = checked.outbound;
    }
    outbound = withForwards(s, tx, outbound, Buffer.concat([traceHeaders({ ...traceInfo, returnPath: false }), Buffer.from(authResults, 'utf8')]));
    // LMTP: a recipient the real size puts over quota gets its own reply (RFC 2033 4.2), the others the message.
    if (s.mode === 'lmtp') perRecipient = await lmtpQuota(s, tx.recipients, targets, tx.size);
    if (targets.size === 0 && !outbound) await spool.discard();
    const copies =
      targets.size === 0 && !outbound
        ? []
        : await s.services.deliver({ message, headers, recipients: [...targets.values()], ...(outbound ? { outbound } : {}) });
    s.log.info(
      { from: tx.mailFrom, rcpts: tx.recipients.length, copies: copies.length, queued: outbound?.recipients.length ?? 0, size: tx.size },
      'delivered',
    );
    result = withText(MESSAGE_ACCEPTED, `Message accepted, id ${s.state.id}`);
    if (copies.length > 0) reportSuccess(s, tx, message);
  } catch (err) {
    s.log.error({ err }, 'delivery failed: nothing stored');
    await spool.discard().catch(() => undefined);
    result = LOCAL_ERROR;
  }
  finalReply(s, tx.recipients.length, result, perRecipient);
}

/** Hops a message may have made before we call it a loop (Postfix's hopcount_limit). */
export const MAX_HOPS = 50;

/** Received fields in the message's header section (RFC 5321 6.3). */
function hopCount(message: Buffer | SpooledMessage): number {
  const head = Buffer.isBuffer(message) ? message : message.head;
  return parseHeaderBlock(head).fields.filter((f) => f.name.toLowerCase() === 'received').length;
}

/**
 * Alias and group targets outside our domains (RFC 5321 3.9.1 forwarding):
 * queued with the message's own envelope sender, so a bounce goes back to
 * whoever sent it (no SRS yet: SPF of the sender's domain fails at the
 * next hop; DKIM signatures survive, the message is not changed).
 */
function withForwards(s: SessionApi, tx: MailTransaction, outbound: DeliveryInput['outbound'], prefix: Buffer): DeliveryInput['outbound'] {
  const taken = new Set((outbound?.recipients ?? []).map((r) => r.address.toLowerCase()));
  const forwards: { address: string; orcpt: string }[] = [];
  for (const r of tx.recipients) {
    for (const target of r.forward ?? []) {
      if (taken.has(target)) continue;
      taken.add(target);
      forwards.push({ address: target, orcpt: `rfc822;${r.address}` });
    }
  }
  if (forwards.length === 0) return outbound;
  if (outbound) return { ...outbound, recipients: [...outbound.recipients, ...forwards] };
  return queued(s, tx, prefix, forwards);
}

type Outbound = NonNullable<DeliveryInput['outbound']>;

/** The queue entry of this transaction: its envelope and DSN options, expiring after queue.maxAttemptsHours. */
function queued(s: SessionApi, tx: MailTransaction, prefix: Buffer, recipients: Outbound['recipients'], accountId?: AccountId): Outbound {
  const hours = s.services.limits().queueLifetimeHours ?? 120;
  return {
    headerPrefix: prefix,
    mailFrom: tx.mailFrom ?? '',
    ...(accountId === undefined ? {} : { accountId }),
    envid: tx.params.envid,
    ret: tx.params.ret,
    smtputf8: tx.params.smtputf8 ?? false,
    eightBit: tx.params.body === '8BITMIME',
    sessionId: s.state.id,
    expiresAt: new Date(Date.now() + hours * 3_600_000),
    recipients,
  };
}

/**
 * RFC 3461 6.2.2: we are the final MTA for the local recipients; those that
 * asked for NOTIFY=SUCCESS get a "delivered" report to the sender. After the
 * 250 (not awaited): a report is best effort, the delivery is what counts.
 */
function reportSuccess(s: SessionApi, tx: MailTransaction, message: Buffer | SpooledMessage): void {
  const wanted = tx.recipients.filter((r) => !r.remote && r.local.length > 0 && Array.isArray(r.params.notify) && r.params.notify.includes('SUCCESS'));
  if (wanted.length === 0 || !tx.mailFrom) return;
  const full = Buffer.isBuffer(message) && tx.params.ret === 'FULL';
  s.services
    .reportDelivered({
      hostname: s.hostname,
      mailFrom: tx.mailFrom,
      envid: tx.params.envid,
      ret: full ? 'FULL' : 'HDRS',
      arrivalDate: new Date(),
      recipients: wanted.map((r) => ({ address: r.address, orcpt: r.params.orcpt ? `${r.params.orcpt.addrType};${r.params.orcpt.address}` : undefined })),
      original: Buffer.isBuffer(message) ? message : message.head,
      lifetimeHours: s.services.limits().queueLifetimeHours ?? 120,
    })
    .catch((err: unknown) => s.log.warn({ err, to: tx.mailFrom }, 'could not send a "delivered" report'));
}

/**
 * An authenticated user's message (RFC 6409): every From address must be one
 * the user may send as (8.1: the MSA may reject what it cannot vouch for);
 * remote recipients are queued, signed with the From domain's DKIM key.
 */
async function submissionChecks(
  s: SessionApi,
  tx: MailTransaction,
  message: Buffer | SpooledMessage,
  trace: Buffer,
): Promise<{ reply: SmtpReply } | { outbound: DeliveryInput['outbound'] }> {
  const user = s.state.user!;
  const from = headerFromAddresses(message);
  if (from.length === 0) return { reply: withText(SENDER_NOT_OWNED, 'The message has no From address') };
  for (const address of from) {
    if (!(await s.services.mayUseSender(user, address))) {
      s.log.warn({ user: user.address, headerFrom: address }, 'From address not allowed for the user');
      return { reply: withText(SENDER_NOT_OWNED, `From address not owned by the authenticated user: ${address}`) };
    }
  }
  const remote = tx.recipients.filter((r) => r.remote);
  if (remote.length === 0) return { outbound: undefined };
  const fromDomain = from[0]!.slice(from[0]!.lastIndexOf('@') + 1);
  const dkim = await s.services.signOutbound(message, trace, fromDomain);
  const recipients = remote.map((r) => ({
    address: r.address,
    notify: r.params.notify === undefined ? undefined : r.params.notify === 'NEVER' ? (['NEVER'] as const) : [...r.params.notify],
    orcpt: r.params.orcpt ? `${r.params.orcpt.addrType};${r.params.orcpt.address}` : undefined,
  }));
  return { outbound: queued(s, tx, Buffer.concat([dkim, trace]), recipients, user.id) };
}

/** LMTP: one reply per accepted recipient, in order (RFC 2033 4.2); one transaction, so all alike but those in `perRecipient`. */
function finalReply(s: SessionApi, recipients: number, r: SmtpReply, perRecipient: readonly (SmtpReply | undefined)[] = []): void {
  const n = s.mode === 'lmtp' ? Math.max(1, recipients) : 1;
  for (let i = 0; i < n; i++) s.reply(perRecipient[i] ?? r);
}
