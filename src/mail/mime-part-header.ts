/**
 * What a part's header section says about its body (RFC 2045 5-8, RFC 2183,
 * RFC 3282, RFC 2557 4.1, RFC 1864): applied to a MimePart by the structure
 * parser once the header section has ended.
 */
import { fieldValue, type RawHeaderField } from './mime-header.ts';
import { paramValue, parseContentType, parseDisposition, parseEncoding, parseLanguage } from './mime-params.ts';
import { PART_FLAGS, type ImapEnvelope, type MimeParam, type MimePart } from './mime-types.ts';

/** A part with its offsets and nothing known yet. */
export function newPart(headerStart: number, defaultType: readonly [string, string]): MimePart {
  return {
    headerStart,
    bodyStart: headerStart,
    bodyEnd: headerStart,
    type: defaultType[0],
    subtype: defaultType[1],
    params: [],
    id: null,
    description: null,
    encoding: null,
    md5: null,
    disposition: null,
    language: null,
    location: null,
    lines: 0,
    children: [],
    message: null,
    flags: 0,
  };
}

export const TEXT_PLAIN = ['text', 'plain'] as const;
/** RFC 2046 5.1.5: in a multipart/digest, a body part without Content-Type is a message/rfc822. */
export const MESSAGE_RFC822 = ['message', 'rfc822'] as const;

/** Parameters a part keeps when the metadata budget is used up (the ones that decide how to read it). */
const KEY_PARAMS = new Set(['boundary', 'boundary*', 'charset', 'charset*']);
/** Longest type, subtype or encoding kept when the metadata budget is used up. */
const KEY_MAX = 256;

function paramsBytes(params: readonly MimeParam[]): number {
  let n = 0;
  for (const [k, v] of params) n += k.length + v.length + 8;
  return n;
}

/**
 * Fills in the part from its header fields. `budget` is what the message may
 * still keep of such metadata (in characters, roughly octets); returns what
 * this part used. Over budget, only the fields needed to read the structure
 * are kept, shortened, and the part is marked.
 */
export function applyPartHeader(part: MimePart, fields: readonly RawHeaderField[], budget: number): number {
  const ct = fieldValue(fields, 'content-type');
  if (ct !== undefined) {
    const mt = parseContentType(ct);
    // RFC 2045 5.2: a syntactically invalid Content-Type is taken as text/plain.
    [part.type, part.subtype] = mt.valid ? [mt.type, mt.subtype] : TEXT_PLAIN;
    part.params = mt.params;
  }
  const cte = fieldValue(fields, 'content-transfer-encoding');
  part.encoding = cte === undefined ? null : parseEncoding(cte);
  const get = (name: string): string | null => fieldValue(fields, name) ?? null;
  part.id = get('content-id');
  part.description = get('content-description');
  part.md5 = get('content-md5');
  part.location = get('content-location');
  const dsp = fieldValue(fields, 'content-disposition');
  part.disposition = dsp === undefined ? null : parseDisposition(dsp);
  const lang = fieldValue(fields, 'content-language');
  part.language = lang === undefined ? null : parseLanguage(lang);

  const used =
    part.type.length + part.subtype.length + paramsBytes(part.params) + (part.encoding?.length ?? 0) +
    (part.id?.length ?? 0) + (part.description?.length ?? 0) + (part.md5?.length ?? 0) + (part.location?.length ?? 0) +
    (part.disposition ? part.disposition.type.length + paramsBytes(part.disposition.params) : 0) +
    (part.language?.reduce((n, l) => n + l.length + 4, 0) ?? 0) + 64;
  if (used <= budget) return used;
  part.type = part.type.slice(0, KEY_MAX);
  part.subtype = part.subtype.slice(0, KEY_MAX);
  part.encoding = part.encoding?.slice(0, KEY_MAX) ?? null;
  part.params = part.params.filter(([k, v]) => KEY_PARAMS.has(k.toLowerCase()) && v.length <= KEY_MAX);
  part.id = part.description = part.md5 = part.location = null;
  part.disposition = null;
  part.language = null;
  part.flags |= PART_FLAGS.metadataDropped;
  return Math.min(used, 2 * KEY_MAX + 64 + paramsBytes(part.params));
}

/** Characters an envelope keeps (for the metadata budget). */
export function envelopeBytes(e: ImapEnvelope): number {
  let n = 64;
  for (const v of Object.values(e) as (string | null | (readonly (string | null)[])[])[]) {
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) for (const a of v) for (const s of a) n += (s?.length ?? 0) + 4;
  }
  return n;
}

/** The boundary of a multipart (RFC 2046 5.1.1), as the octets that open a delimiter line ("--" boundary). */
export function boundaryDelimiter(part: MimePart, maxLength: number): Buffer | undefined {
  const b = paramValue(part.params, 'boundary');
  if (b === undefined || b === '' || b.length > maxLength) return undefined;
  return Buffer.from(`--${b}`, 'utf8');
}
