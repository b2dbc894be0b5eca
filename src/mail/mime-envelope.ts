/**
 * IMAP ENVELOPE (RFC 9051 7.5.2, RFC 3501 7.4.2) from a message's header
 * fields: raw values (unfolded, encoded words kept), addresses as IMAP
 * address structures.
 */
import { parseAddressList } from './mime-address.ts';
import { fieldValue, type RawHeaderField } from './mime-header.ts';
import type { ImapEnvelope } from './mime-types.ts';

export function imapEnvelope(fields: readonly RawHeaderField[]): ImapEnvelope {
  const get = (name: string): string | null => fieldValue(fields, name) ?? null;
  const list = (name: string) => parseAddressList(fieldValue(fields, name));
  const from = list('from');
  return {
    date: get('date'),
    subject: get('subject'),
    from,
    // RFC 9051 7.5.2: "If the Sender or Reply-To header lines are absent in
    // the [RFC5322] header, or are present but empty, the server sets the
    // corresponding member of the envelope to be the same value as the from
    // member (the client is not expected to know how to do this)."
    sender: list('sender') ?? from,
    replyTo: list('reply-to') ?? from,
    to: list('to'),
    cc: list('cc'),
    bcc: list('bcc'),
    inReplyTo: get('in-reply-to'),
    messageId: get('message-id'),
  };
}

/** An envelope with every member NIL (an encapsulated message without a header). */
export const EMPTY_ENVELOPE: ImapEnvelope = {
  date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
};
