/** MAIL (RFC 5321 4.1.1.2) and RCPT (4.1.1.3): the envelope of a transaction. */
import type { Mailbox, MailCommand, RcptCommand } from '../parser/index.ts';
import {
  AUTH_REQUIRED, BAD_SEQUENCE, LOCAL_ERROR, MESSAGE_TOO_BIG, NO_SUCH_USER, NON_ASCII_ADDRESS, RECIPIENT_OK,
  RATE_LIMITED, RELAY_DENIED, SENDER_NOT_OWNED, SENDER_OK, TOO_MANY_RECIPIENTS, withText,
} from '../replies.ts';
import { overQuotaReply, withinQuota } from '../quota.ts';
import { newTransaction } from '../state.ts';
import type { SessionApi } from './api.ts';

export function mailboxAddress(m: Mailbox): string {
  const local = m.quoted ? `"${m.local.replace(/(["\\])/g, '\\$1')}"` : m.local;
  return `${local}@${m.domain}`;
}

export async function mail(s: SessionApi, cmd: MailCommand): Promise<void> {
  if (!s.state.helo) return s.reply(withText(BAD_SEQUENCE, 'Send EHLO first'));
  if (s.state.tx) return s.reply(withText(BAD_SEQUENCE, 'Nested MAIL command'));
  if ((s.mode === 'submission' || s.mode === 'submissions') && !s.state.user) return s.reply(AUTH_REQUIRED);
  if (s.mode === 'mx' && !s.state.user) {
    // Per-IP message rate (limits.messagesPerIpPerMinute), counted across connections.
    const ip = s.state.remoteAddress;
    if (s.messageRate.blocked(ip)) {
      s.log.warn({ reason: 'message rate' }, 'MAIL refused');
      return s.reply(RATE_LIMITED);
    }
    s.messageRate.add(ip);
  }
  const max = s.services.limits().maxMessageBytes;
  if (cmd.params.size !== undefined && cmd.params.size > max) return s.reply(MESSAGE_TOO_BIG); // RFC 1870 6.1
  const from = cmd.reversePath ? mailboxAddress(cmd.reversePath) : null;
  // An authenticated user sends as their own addresses only (submission.senderPolicy); <> is
  // allowed (RFC 8098 read receipts), the From check at the end of DATA still applies.
  if (s.state.user && from !== null && s.mode !== 'lmtp') {
    try {
      if (!(await s.services.mayUseSender(s.state.user, from))) {
        s.log.warn({ user: s.state.user.address, from }, 'sender address not allowed for the user');
        return s.reply(SENDER_NOT_OWNED);
      }
    } catch (err) {
      s.log.error({ err }, 'sender check failed');
      return s.reply(LOCAL_ERROR);
    }
  }
  s.state.tx = newTransaction(from, cmd.params);
  s.reply(SENDER_OK);
}

export async function rcpt(s: SessionApi, cmd: RcptCommand): Promise<void> {
  const tx = s.state.tx;
  if (!tx) return s.reply(withText(BAD_SEQUENCE, 'Need MAIL before RCPT'));
  const limits = s.services.limits();
  if (tx.recipients.length >= limits.maxRecipients) return s.reply(TOO_MANY_RECIPIENTS);
  const fp = cmd.forwardPath;
  if (fp.kind === 'mailbox' && fp.utf8 && !tx.params.smtputf8) return s.reply(NON_ASCII_ADDRESS); // RFC 6531 3.5
  // RFC 5321 4.1.1.3: <Postmaster> without a domain is this server's postmaster.
  const address = fp.kind === 'postmaster' ? `postmaster@${s.hostname}` : mailboxAddress(fp);
  const domain = fp.kind === 'postmaster' ? s.hostname : fp.domain;
  let local: boolean;
  try {
    local = fp.kind === 'mailbox' && fp.host.kind === 'domain' ? await s.services.isLocalDomain(domain) : fp.kind === 'postmaster';
    if (!local) {
      // Never an open relay: only an authenticated user's mail goes to the outbound queue.
      if (!s.state.user || s.mode === 'lmtp') return s.reply(RELAY_DENIED);
      if (fp.kind !== 'mailbox' || fp.host.kind !== 'domain') return s.reply(RELAY_DENIED); // no address literals outbound
      tx.recipients.push({ address, params: cmd.params, local: [], remote: true });
      return s.reply(RECIPIENT_OK);
    }
    const resolved = await s.services.resolveRecipient(address);
    if (!resolved || (resolved.local.length === 0 && resolved.remote.length === 0)) {
      s.log.info({ rcpt: address }, 'unknown recipient');
      return s.reply(NO_SUCH_USER);
    }
    const all = resolved.local.map((l) => ({ accountId: l.account.id, deliveredTo: l.account.address, quotaBytes: l.account.quotaBytes }));
    // Quota with the SIZE declared at MAIL (RFC 1870), else "already full?" (see ../quota.ts).
    const accounts = all.length === 0 ? [] : await withinQuota(s, address, all, tx.params.size ?? 0);
    if (accounts.length === 0 && resolved.remote.length === 0) return s.reply(overQuotaReply(s));
    // Alias and group targets outside our domains: forwarded through the outbound queue.
    tx.recipients.push({ address, params: cmd.params, local: accounts, ...(resolved.remote.length > 0 ? { forward: resolved.remote } : {}) });
  } catch (err) {
    s.log.error({ err, rcpt: address }, 'recipient lookup failed');
    return s.reply(LOCAL_ERROR);
  }
  s.reply(RECIPIENT_OK);
}
