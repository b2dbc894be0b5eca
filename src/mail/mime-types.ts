/**
 * The MIME structure of a message as TEGU caches it at delivery (parsed once
 * by mime-structure.ts, stored by mime-json.ts, printed as IMAP ENVELOPE and
 * BODYSTRUCTURE by src/protocols/imap/encode/).
 *
 * Strings are kept RAW, as written in the message (unfolded, RFC 5322 2.2.3):
 * encoded words (RFC 2047) are not decoded, case is not changed. That is what
 * IMAP ENVELOPE and BODYSTRUCTURE return (RFC 9051 7.5.2).
 */

/**
 * An IMAP address structure (RFC 9051 7.5.2 ENVELOPE): name, at-domain-list
 * (source route), mailbox, host. Group syntax (RFC 5322 3.4): host null and
 * mailbox set starts a group (mailbox holds the group name); mailbox and host
 * both null ends it.
 */
export type ImapAddress = readonly [name: string | null, adl: string | null, mailbox: string | null, host: string | null];

/** IMAP ENVELOPE (RFC 9051 7.5.2), raw header values; an empty address list is null (NIL). */
export interface ImapEnvelope {
  date: string | null;
  subject: string | null;
  from: ImapAddress[] | null;
  /** RFC 9051 7.5.2: the server fills in From when Sender is absent or empty. */
  sender: ImapAddress[] | null;
  /** RFC 9051 7.5.2: the server fills in From when Reply-To is absent or empty. */
  replyTo: ImapAddress[] | null;
  to: ImapAddress[] | null;
  cc: ImapAddress[] | null;
  bcc: ImapAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/** A Content-Type / Content-Disposition parameter as IMAP prints it (body-fld-param). */
export type MimeParam = readonly [name: string, value: string];

/** Things the parser gave up on in a part (bit flags, stored as `x`). */
export const PART_FLAGS = {
  /** The header section went past the limit: the rest was taken as body (RFC 5322 2.1 has no limit, we do). */
  headerTruncated: 1,
  /** A multipart whose close delimiter never came (RFC 2046 5.1.1): it ends where its parent (or the message) ends. */
  unterminated: 2,
  /** Nested too deep: a multipart or message part whose content was not parsed further. */
  tooDeep: 4,
  /** The part count limit was reached inside this multipart: later body parts were skipped. */
  tooManyParts: 8,
  /** The message's metadata budget was used up: this part keeps only its type, encoding and key parameters. */
  metadataDropped: 16,
} as const;

export interface MimePart {
  /** Octet offsets into the message as parsed (the blob): where this part's header section starts. */
  headerStart: number;
  /** First octet of the body (after the empty line ending the header section). */
  bodyStart: number;
  /** End of the body (exclusive). The line break before a boundary delimiter belongs to the delimiter (RFC 2046 5.1.1). */
  bodyEnd: number;
  /** Media type and subtype as written ("text"/"plain" by default, RFC 2045 5.2; "message"/"rfc822" in a digest, RFC 2046 5.1.5). */
  type: string;
  subtype: string;
  /** Content-Type parameters, RFC 2231 continuations merged (see mime-params.ts). */
  params: MimeParam[];
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding as written; null when absent (7bit, RFC 2045 6.1). */
  encoding: string | null;
  md5: string | null;
  disposition: { type: string; params: MimeParam[] } | null;
  language: string[] | null;
  location: string | null;
  /** Line feeds in the body: IMAP body-fld-lines for text/* and message/* (as Dovecot counts them). */
  lines: number;
  /** Octets of the body once its transfer encoding (base64, quoted-printable) is undone: RFC 3516 BINARY.SIZE. Undefined: same as the body. */
  binarySize?: number;
  /** Body parts of a multipart (empty for other types, and for a multipart whose boundary never appeared). */
  children: MimePart[];
  /** The encapsulated message of a message/rfc822 or message/global part; its body part's header section is that message's header. */
  message: { envelope: ImapEnvelope; body: MimePart } | null;
  /** PART_FLAGS bits. */
  flags: number;
}

/** Lower-cased type/subtype tests. */
export function isMultipart(p: Pick<MimePart, 'type'>): boolean {
  return p.type.toLowerCase() === 'multipart';
}

/** message/rfc822 and message/global (RFC 6532 3.7) carry a message whose structure IMAP shows. */
export function isEncapsulatedMessage(p: Pick<MimePart, 'type' | 'subtype'>): boolean {
  if (p.type.toLowerCase() !== 'message') return false;
  const s = p.subtype.toLowerCase();
  return s === 'rfc822' || s === 'global';
}
