/** IMAP ENVELOPE (RFC 9051 7.5.2, RFC 3501 7.4.2) in response syntax. */
import type { ImapAddress, ImapEnvelope } from '../../../mail/mime-types.ts';
import { NIL, nstring, type ImapStringOptions } from './imap-string.ts';

/** address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")" */
function address(a: ImapAddress, opts: ImapStringOptions): string {
  return `(${nstring(a[0], opts)} ${nstring(a[1], opts)} ${nstring(a[2], opts)} ${nstring(a[3], opts)})`;
}

/** env-from etc.: "(" 1*address ")" / nil. */
function addressList(list: readonly ImapAddress[] | null, opts: ImapStringOptions): string {
  if (!list || list.length === 0) return NIL;
  return `(${list.map((a) => address(a, opts)).join('')})`;
}

/**
 * envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
 * env-reply-to SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP
 * env-message-id ")"
 */
export function encodeEnvelope(e: ImapEnvelope, opts: ImapStringOptions = {}): string {
  return (
    `(${nstring(e.date, opts)} ${nstring(e.subject, opts)} ${addressList(e.from, opts)} ${addressList(e.sender, opts)} ` +
    `${addressList(e.replyTo, opts)} ${addressList(e.to, opts)} ${addressList(e.cc, opts)} ${addressList(e.bcc, opts)} ` +
    `${nstring(e.inReplyTo, opts)} ${nstring(e.messageId, opts)})`
  );
}
