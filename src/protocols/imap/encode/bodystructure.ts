/**
 * BODYSTRUCTURE and BODY (RFC 9051 7.5.2, RFC 3501 7.4.2) in response
 * syntax, from the MIME tree cached at delivery (src/mail/mime-types.ts).
 *
 * body            = "(" (body-type-1part / body-type-mpart) ")"
 * body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
 * body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
 *
 * BODYSTRUCTURE is the extensible form (with body-ext-1part and
 * body-ext-mpart), BODY the non-extensible one (RFC 9051 7.5.2 "BODY").
 */
import { isEncapsulatedMessage, isMultipart, type MimeParam, type MimePart } from '../../../mail/mime-types.ts';
import { EMPTY_ENVELOPE } from '../../../mail/mime-envelope.ts';
import { encodeEnvelope } from './envelope.ts';
import { imapString, NIL, nstring, type ImapStringOptions } from './imap-string.ts';

export interface BodyStructureOptions extends ImapStringOptions {
  /** BODYSTRUCTURE (true) or BODY (false). */
  extensible: boolean;
  /**
   * IMAP4rev2 session: message/global is a body-type-msg (RFC 9051 media-message).
   * IMAP4rev1 (RFC 3501) knows only message/rfc822 there, so message/global goes out as a basic body.
   */
  imap4rev2?: boolean;
}

/** body-fld-param = "(" string SP string *(SP string SP string) ")" / nil */
function params(list: readonly MimeParam[], opts: ImapStringOptions): string {
  if (list.length === 0) return NIL;
  return `(${list.map(([k, v]) => `${imapString(k, opts)} ${imapString(v, opts)}`).join(' ')})`;
}

/** Content-Type parameters as printed: a text/* part without charset gets charset us-ascii (RFC 2045 5.2; appended, as Dovecot does). */
function typeParams(p: MimePart): readonly MimeParam[] {
  if (p.type.toLowerCase() !== 'text') return p.params;
  if (p.params.some(([k]) => k.toLowerCase() === 'charset' || k.toLowerCase() === 'charset*')) return p.params;
  return [...p.params, ['charset', 'us-ascii']];
}

/** body-fld-dsp = "(" string SP body-fld-param ")" / nil */
function disposition(p: MimePart, opts: ImapStringOptions): string {
  return p.disposition ? `(${imapString(p.disposition.type, opts)} ${params(p.disposition.params, opts)})` : NIL;
}

/** body-fld-lang = nstring / "(" string *(SP string) ")" */
function language(p: MimePart, opts: ImapStringOptions): string {
  return p.language?.length ? `(${p.language.map((l) => imapString(l, opts)).join(' ')})` : NIL;
}

/** An empty text/plain body: what a multipart without body parts, or a message without one, shows (as Dovecot does). */
function emptyText(at: number): MimePart {
  return {
    headerStart: at, bodyStart: at, bodyEnd: at, type: 'text', subtype: 'plain', params: [], id: null, description: null,
    encoding: null, md5: null, disposition: null, language: null, location: null, lines: 0, children: [], message: null, flags: 0,
  };
}

function body(p: MimePart, opts: BodyStructureOptions): string {
  if (isMultipart(p)) {
    const children = p.children.length ? p.children : [emptyText(p.bodyEnd)];
    let s = `(${children.map((c) => body(c, opts)).join('')} ${imapString(p.subtype, opts)}`;
    // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
    if (opts.extensible) s += ` ${params(p.params, opts)} ${disposition(p, opts)} ${language(p, opts)} ${nstring(p.location, opts)}`;
    return `${s})`;
  }
  // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
  let s =
    `(${imapString(p.type, opts)} ${imapString(p.subtype, opts)} ${params(typeParams(p), opts)} ` +
    `${nstring(p.id, opts)} ${nstring(p.description, opts)} ${imapString(p.encoding ?? '7bit', opts)} ${p.bodyEnd - p.bodyStart}`;
  const asMessage = isEncapsulatedMessage(p) && (p.subtype.toLowerCase() === 'rfc822' || opts.imap4rev2 === true);
  if (asMessage) {
    // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
    const inner = p.message ?? { envelope: EMPTY_ENVELOPE, body: emptyText(p.bodyStart) };
    s += ` ${encodeEnvelope(inner.envelope, opts)} ${body(inner.body, opts)} ${p.lines}`;
  } else if (p.type.toLowerCase() === 'text') {
    // body-type-text = media-text SP body-fields SP body-fld-lines
    s += ` ${p.lines}`;
  }
  // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
  if (opts.extensible) s += ` ${nstring(p.md5, opts)} ${disposition(p, opts)} ${language(p, opts)} ${nstring(p.location, opts)}`;
  return `${s})`;
}

/** The BODYSTRUCTURE (extensible) or BODY value of a message or part. */
export function encodeBodyStructure(part: MimePart, opts: BodyStructureOptions): string {
  return body(part, opts);
}
