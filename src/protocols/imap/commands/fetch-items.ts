/**
 * One FETCH response's data items (RFC 9051 7.5.2) for one message: the
 * simple ones as text, body sections as literals whose octets are streamed
 * from the store (core/message-fetch.ts) when they are written.
 *
 *   BODY[section]<origin>  the section's octets (HEADER.FIELDS filtered),
 *                          a partial <offset.length> cut from them;
 *                          a section that does not exist is "" (empty)
 *   RFC822 / RFC822.HEADER / RFC822.TEXT   = BODY[] / BODY.PEEK[HEADER] / BODY[TEXT]
 *   BINARY[part]<origin>   RFC 3516 4.2: the part with its Content-Transfer-Encoding
 *                          undone, always as literal8 (~{n}: may hold NUL);
 *                          BINARY[] is the message as stored
 *   BINARY.SIZE[part]      its decoded size (cached at delivery, else counted)
 *   FLAGS                  with \Recent for the messages this rev1 session claimed
 *                          (RFC 3501 2.3.2; selected.ts)
 *   MODSEQ                 RFC 7162 3.1.5: `MODSEQ (n)`
 *   EMAILID                RFC 8474 5.1: `M` + the blob id in base 36, so a message and
 *                          its copies (COPY, MOVE, one delivery to several mailboxes)
 *                          share it; so do separate deliveries of byte-identical content
 *                          (one deduplicated blob), a known limitation (docs/imap.md)
 *   THREADID               RFC 8474 5.2: NIL, the server does not compute threads (yet)
 * An encoding that cannot be undone: UnknownTransferEncodingError (NO [UNKNOWN-CTE]).
 */
import { binarySize, decodeBody, decodedSize } from '../encode/binary.ts';
import { encodeBodyStructure } from '../encode/bodystructure.ts';
import { encodeDateTime } from '../encode/date-time.ts';
import { encodeEnvelope } from '../encode/envelope.ts';
import { filterHeaderFields } from '../encode/header-fields.ts';
import { partAt, sectionRange, type OctetRange } from '../encode/section-range.ts';
import type { BodySection, FetchAttribute, Partial } from '../parser/index.ts';
import { MEMO_ENTRIES, type FetchedMessage, type MessageStructure } from '../services.ts';
import type { SessionApi } from './api.ts';

/** A literal whose octets come later: `{length}\r\n` then the chunks. */
export interface LiteralPiece {
  readonly length: number;
  /** literal8 (RFC 3516 4.2). */
  readonly binary?: boolean;
  readonly chunks: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

export type FetchPiece = string | LiteralPiece;

/** `FLAGS (...)` as this session sees the message: \Recent added when it claimed it (rev1, RFC 3501 2.3.2). */
export function flagsItem(s: SessionApi, uid: number, flags: readonly string[]): string {
  const state = s.state;
  const recent = state.kind === 'selected' && state.mailbox.isRecent(uid);
  return `FLAGS (${(recent ? [...flags, '\\Recent'] : flags).join(' ')})`;
}

/** RFC 7162 3.1.5 (fetch-mod-resp). */
export function modseqItem(modseq: bigint): string {
  return `MODSEQ (${modseq})`;
}

/** RFC 8474 5.1 EMAILID: "M" and the blob id in base 36 (at most 14 characters of [0-9a-z]). */
export function emailId(blobId: number): string {
  return `M${blobId.toString(36)}`;
}

/** Flags and modseq of a message read with them (fetch.ts asks for them whenever an item needs them). */
export function stateOf(m: FetchedMessage): { flags: string[]; modseq: bigint } {
  if (m.flags === undefined || m.modseq === undefined) throw new Error(`message ${m.uid} was read without its flags`);
  return { flags: m.flags, modseq: m.modseq };
}

/** The message being answered, with its structure read once when an item needs it. */
export class MessageItems {
  private structure: Promise<MessageStructure> | undefined;
  constructor(
    private readonly s: SessionApi,
    readonly m: FetchedMessage,
  ) {}

  private tree(): Promise<MessageStructure> {
    this.structure ??= this.s.services.messageStructure(this.m);
    return this.structure;
  }

  /** `name value` pieces of one fetch attribute (UID and FLAGS are added by the caller). */
  async item(a: FetchAttribute): Promise<FetchPiece[]> {
    const m = this.m;
    switch (a.kind) {
      case 'UID':
        return [`UID ${m.uid}`];
      case 'FLAGS':
        return [flagsItem(this.s, m.uid, stateOf(m).flags)];
      case 'MODSEQ':
        return [modseqItem(stateOf(m).modseq)];
      case 'EMAILID':
        return [`EMAILID (${emailId(m.blobId)})`];
      case 'THREADID':
        return ['THREADID NIL'];
      case 'INTERNALDATE':
        return [`INTERNALDATE ${encodeDateTime(m.internalDate)}`];
      case 'RFC822.SIZE':
        return [`RFC822.SIZE ${m.size}`];
      case 'ENVELOPE':
        return [`ENVELOPE ${encodeEnvelope((await this.tree()).envelope, { utf8: this.s.utf8 })}`];
      case 'BODYSTRUCTURE':
      case 'BODY':
        return [`${a.kind} ${encodeBodyStructure((await this.tree()).root, { extensible: a.kind === 'BODYSTRUCTURE', imap4rev2: this.s.rev2, utf8: this.s.utf8 })}`];
      case 'RFC822':
        return ['RFC822 ', await this.section({ part: [], text: null }, null)];
      case 'RFC822.HEADER':
        return ['RFC822.HEADER ', await this.section({ part: [], text: { kind: 'HEADER' } }, null)];
      case 'RFC822.TEXT':
        return ['RFC822.TEXT ', await this.section({ part: [], text: { kind: 'TEXT' } }, null)];
      case 'section':
        return [`BODY[${sectionSpec(a.section)}]${a.partial ? `<${a.partial.offset}>` : ''} `, await this.section(a.section, a.partial)];
      case 'binary':
        return [`BINARY[${a.part.join('.')}]${a.partial ? `<${a.partial.offset}>` : ''} `, await this.binary(a.part, a.partial)];
      case 'binarySize':
        return [`BINARY.SIZE[${a.part.join('.')}] ${(await this.binaryPart(a.part))?.size ?? 0}`];
      default:
        throw new Error(`FETCH ${a.kind} is refused before the messages are read`);
    }
  }

  /** The decoded octets of a part (or the whole message for []), with their count; undefined: no such part. */
  private async binaryPart(path: readonly number[]): Promise<{ size: number; chunks: () => AsyncIterable<Buffer> } | undefined> {
    const m = this.m;
    const read = this.s.services;
    if (path.length === 0) return { size: m.size, chunks: () => read.readMessage(m, 0, m.size) };
    const t = await this.tree();
    const part = partAt(t.root, path);
    const r = sectionRange(t.root, path, '', t.prefixLength);
    if (!part || !r) return undefined;
    const body = (): AsyncIterable<Buffer> => read.readMessage(m, r.start, r.end);
    const size = binarySize(part) ?? (await decodedSize(part.encoding, body()));
    return { size, chunks: () => decodeBody(part.encoding, body()) };
  }

  private async binary(path: readonly number[], partial: Partial | null): Promise<FetchPiece> {
    const b = await this.binaryPart(path);
    if (!b) return '""';
    const from = partial ? Math.min(b.size, partial.offset) : 0;
    const to = partial ? Math.min(b.size, from + partial.length) : b.size;
    return { length: to - from, binary: true, chunks: () => sliceStream(b.chunks(), from, to) };
  }

  private async range(section: BodySection): Promise<OctetRange | undefined> {
    if (section.part.length === 0 && section.text === null) return { start: 0, end: this.m.size };
    const kind = section.text?.kind;
    const header = kind === 'HEADER' || kind === 'HEADER.FIELDS' || kind === 'HEADER.FIELDS.NOT';
    // The top-level header: the prefix lines and the blob's header section (section-range.ts), no tree needed.
    if (header && section.part.length === 0 && this.m.headerEnd !== undefined) return { start: 0, end: this.m.headerPrefix.length + this.m.headerEnd };
    const t = await this.tree();
    const text = kind === undefined ? '' : kind === 'HEADER.FIELDS' || kind === 'HEADER.FIELDS.NOT' ? 'HEADER' : kind;
    return sectionRange(t.root, section.part, text, t.prefixLength);
  }

  private async section(section: BodySection, partial: Partial | null): Promise<FetchPiece> {
    const r = await this.range(section);
    if (!r) return '""';
    const start = Math.min(r.start, this.m.size);
    const end = Math.min(r.end, this.m.size);
    const text = section.text;
    if (text && (text.kind === 'HEADER.FIELDS' || text.kind === 'HEADER.FIELDS.NOT')) {
      const filtered = await this.headerFields(start, end, text.fields, text.kind === 'HEADER.FIELDS.NOT');
      const cut = partial ? filtered.subarray(partial.offset, partial.offset + partial.length) : filtered;
      return { length: cut.length, chunks: () => [cut] };
    }
    const from = partial ? Math.min(end, start + partial.offset) : start;
    const to = partial ? Math.min(end, from + partial.length) : end;
    // Octets that came with the row (or from the node's cache) are written as they are; the rest streams.
    const direct = this.s.services.messageOctets(this.m, from, to);
    return { length: to - from, chunks: () => (direct ? [direct] : this.s.services.readMessage(this.m, from, to)) };
  }

  /** The header fields (not) named in [start, end), remembered per cached message (fields asked for again and again by message lists). */
  private async headerFields(start: number, end: number, fields: readonly string[], not: boolean): Promise<Buffer> {
    const memo = this.m.memo;
    const key = `${not ? '-' : '+'}${start}:${end}:${fields.join('\0').toLowerCase()}`;
    const known = memo?.get(key);
    if (known) return known;
    let header = this.s.services.messageOctets(this.m, start, end);
    if (!header) {
      const chunks: Buffer[] = [];
      for await (const c of this.s.services.readMessage(this.m, start, end)) chunks.push(c);
      header = Buffer.concat(chunks);
    }
    const filtered = filterHeaderFields(header, fields, not);
    if (memo && memo.size < MEMO_ENTRIES) memo.set(key, filtered);
    return filtered;
  }
}

/** header-fld-name as an astring: an atom when it is one, else quoted or a literal. */
function fieldArg(name: string): string {
  return /^[A-Za-z0-9!#$&'+\-.^_`|~]+$/.test(name) ? name : JSON.stringify(name);
}

/** The section as the response names it (RFC 9051 7.5.2: as requested, header list included). */
export function sectionSpec(section: BodySection): string {
  const parts = section.part.join('.');
  const t = section.text;
  if (!t) return parts;
  const text = t.kind === 'HEADER.FIELDS' || t.kind === 'HEADER.FIELDS.NOT' ? `${t.kind} (${t.fields.map(fieldArg).join(' ')})` : t.kind;
  return parts ? `${parts}.${text}` : text;
}

/** Octets [from, to) of a stream. */
async function* sliceStream(chunks: AsyncIterable<Buffer>, from: number, to: number): AsyncGenerator<Buffer> {
  let at = 0;
  for await (const c of chunks) {
    const end = at + c.length;
    if (end > from && at < to) yield c.subarray(Math.max(0, from - at), Math.min(c.length, to - at));
    at = end;
    if (at >= to) return;
  }
}
