/**
 * The MIME tree and the IMAP envelope as stored in messages.bodystructure
 * and messages.envelope (jsonb), and back. The shape is documented in the
 * COMMENT ON COLUMN of migration 0004; reading validates it, since a row may
 * come from an older or newer writer.
 *
 * part := {
 *   "o": [headerStart, bodyStart, bodyEnd],   octets into the blob
 *   "t": [type, subtype],                     as written
 *   "p": [[name, value], ...],                Content-Type parameters (absent: none)
 *   "id", "desc", "enc", "md5", "loc": string Content-ID, -Description, -Transfer-Encoding, -MD5, -Location
 *   "disp": [type, [[name, value], ...]],     Content-Disposition
 *   "lang": [tag, ...],                       Content-Language
 *   "n": lines,                               line feeds in the body (text/*, message/*)
 *   "bin": octets,                            decoded size (base64, quoted-printable leaves)
 *   "parts": [part, ...],                     multipart body parts
 *   "env": envelope, "msg": part,             message/rfc822, message/global: the encapsulated message
 *   "x": flags                                PART_FLAGS bits
 * }
 * bodystructure := part + { "v": 1 }
 */
import type { ImapAddress, ImapEnvelope, MimeParam, MimePart } from './mime-types.ts';

export const STRUCTURE_VERSION = 1;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface StoredEnvelope {
  date: string | null;
  subject: string | null;
  from: ImapAddress[] | null;
  sender: ImapAddress[] | null;
  replyTo: ImapAddress[] | null;
  to: ImapAddress[] | null;
  cc: ImapAddress[] | null;
  bcc: ImapAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

const ENVELOPE_ADDRESS_KEYS = ['from', 'sender', 'replyTo', 'to', 'cc', 'bcc'] as const;
const ENVELOPE_STRING_KEYS = ['date', 'subject', 'inReplyTo', 'messageId'] as const;

export function envelopeToJson(e: ImapEnvelope): StoredEnvelope {
  return { ...e };
}

function partToJson(p: MimePart): { [key: string]: Json } {
  const o: { [key: string]: Json } = { o: [p.headerStart, p.bodyStart, p.bodyEnd], t: [p.type, p.subtype] };
  if (p.params.length) o.p = p.params.map(([k, v]) => [k, v]);
  if (p.id !== null) o.id = p.id;
  if (p.description !== null) o.desc = p.description;
  if (p.encoding !== null) o.enc = p.encoding;
  if (p.md5 !== null) o.md5 = p.md5;
  if (p.disposition) o.disp = [p.disposition.type, p.disposition.params.map(([k, v]) => [k, v])];
  if (p.language) o.lang = [...p.language];
  if (p.location !== null) o.loc = p.location;
  const t = p.type.toLowerCase();
  if (t === 'text' || t === 'message') o.n = p.lines;
  if (p.binarySize !== undefined) o.bin = p.binarySize;
  if (p.children.length) o.parts = p.children.map(partToJson);
  if (p.message) {
    o.env = envelopeToJson(p.message.envelope) as unknown as Json;
    o.msg = partToJson(p.message.body);
  }
  if (p.flags) o.x = p.flags;
  return o;
}

/** The tree as stored in messages.bodystructure. */
export function structureToJson(root: MimePart): { [key: string]: Json } {
  return { v: STRUCTURE_VERSION, ...partToJson(root) };
}

// ---- reading back (validated)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const optString = (v: unknown): string | null | undefined => (v === undefined || v === null ? null : typeof v === 'string' ? v : undefined);

function readParams(v: unknown): MimeParam[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return undefined;
  const out: MimeParam[] = [];
  for (const kv of v) {
    if (!Array.isArray(kv) || kv.length !== 2 || typeof kv[0] !== 'string' || typeof kv[1] !== 'string') return undefined;
    out.push([kv[0], kv[1]]);
  }
  return out;
}

function readAddresses(v: unknown): ImapAddress[] | null | undefined {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) return undefined;
  const out: ImapAddress[] = [];
  for (const a of v) {
    if (!Array.isArray(a) || a.length !== 4 || !a.every((s) => s === null || typeof s === 'string')) return undefined;
    out.push([a[0] as string | null, a[1] as string | null, a[2] as string | null, a[3] as string | null]);
  }
  return out;
}

/** messages.envelope (or a nested "env") -> envelope; undefined when it is not of that shape. */
export function envelopeFromJson(v: unknown): ImapEnvelope | undefined {
  if (!isObject(v)) return undefined;
  const e: Record<string, unknown> = {};
  for (const k of ENVELOPE_STRING_KEYS) {
    const s = optString(v[k]);
    if (s === undefined) return undefined;
    e[k] = s;
  }
  for (const k of ENVELOPE_ADDRESS_KEYS) {
    const list = readAddresses(v[k]);
    if (list === undefined) return undefined;
    e[k] = list;
  }
  return e as unknown as ImapEnvelope;
}

function readPart(v: unknown, depth: number): MimePart | undefined {
  if (!isObject(v) || depth > 200) return undefined;
  const o = v.o;
  const t = v.t;
  if (!Array.isArray(o) || o.length !== 3 || !o.every(isOffset)) return undefined;
  if (!Array.isArray(t) || t.length !== 2 || typeof t[0] !== 'string' || typeof t[1] !== 'string') return undefined;
  const params = readParams(v.p);
  const strings = [v.id, v.desc, v.enc, v.md5, v.loc].map(optString);
  if (!params || strings.some((s) => s === undefined)) return undefined;
  let disposition: MimePart['disposition'] = null;
  if (v.disp !== undefined && v.disp !== null) {
    if (!Array.isArray(v.disp) || typeof v.disp[0] !== 'string') return undefined;
    const dp = readParams(v.disp[1]);
    if (!dp) return undefined;
    disposition = { type: v.disp[0], params: dp };
  }
  let language: string[] | null = null;
  if (v.lang !== undefined && v.lang !== null) {
    if (!Array.isArray(v.lang) || !v.lang.every((l) => typeof l === 'string')) return undefined;
    language = v.lang as string[];
  }
  const lines = v.n === undefined ? 0 : v.n;
  if (!isOffset(lines) || (v.bin !== undefined && !isOffset(v.bin)) || (v.x !== undefined && !isOffset(v.x))) return undefined;
  const children: MimePart[] = [];
  if (v.parts !== undefined) {
    if (!Array.isArray(v.parts)) return undefined;
    for (const c of v.parts) {
      const child = readPart(c, depth + 1);
      if (!child) return undefined;
      children.push(child);
    }
  }
  let message: MimePart['message'] = null;
  if (v.msg !== undefined) {
    const envelope = envelopeFromJson(v.env);
    const body = readPart(v.msg, depth + 1);
    if (!envelope || !body) return undefined;
    message = { envelope, body };
  }
  const [id, description, encoding, md5, location] = strings as (string | null)[];
  const [headerStart, bodyStart, bodyEnd] = o as [number, number, number];
  return {
    headerStart, bodyStart, bodyEnd, type: t[0], subtype: t[1], params,
    id: id ?? null, description: description ?? null, encoding: encoding ?? null, md5: md5 ?? null, disposition, language,
    location: location ?? null,
    lines, ...(v.bin === undefined ? {} : { binarySize: v.bin as number }), children, message, flags: (v.x as number | undefined) ?? 0,
  };
}

/** messages.bodystructure -> tree; undefined when NULL, of another version or not of the documented shape. */
export function structureFromJson(v: unknown): MimePart | undefined {
  if (!isObject(v) || v.v !== STRUCTURE_VERSION) return undefined;
  return readPart(v, 0);
}
