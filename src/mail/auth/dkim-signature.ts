/**
 * What message authentication reads of a DKIM-Signature (or
 * ARC-Message-Signature) field itself, leniently, before mailauth sees it:
 * d=, s=, b=, the size of h= and which body hash it needs (RFC 6376 3.5).
 */
import { fieldValue, type HeaderScan, type RawField } from './header-scan.ts';

export interface SignatureInfo {
  field: RawField;
  domain: string;
  selector: string;
  /** b= without whitespace, to match mailauth's results. */
  b: string;
  signedFields: number;
  /** Which body hash it needs (mailauth's key: body canonicalization, hash, l=). */
  bodyHashKey: string;
  /**
   * a=, c=, d= and s= are what mailauth verifies (it silently skips the
   * others; RFC 6376 6.1.1 PERMFAIL).
   */
  wellFormed: boolean;
  /** The key record's name, lower case (RFC 6376 3.6.2.1: selector._domainkey.domain). */
  keyName: string;
}

/** Tag-list (RFC 6376 3.2) of a DKIM-Signature value, lenient. */
function tagList(value: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const tag = part.slice(0, eq).trim().toLowerCase();
    if (!tags.has(tag)) tags.set(tag, part.slice(eq + 1).trim());
  }
  return tags;
}

export function signatureInfo(raw: Buffer, field: RawField): SignatureInfo {
  const tags = tagList(fieldValue(raw, field, 'latin1'));
  const h = tags.get('h') ?? '';
  const domain = (tags.get('d') ?? '').toLowerCase();
  const selector = tags.get('s') ?? '';
  const algo = (tags.get('a') ?? '').toLowerCase().split('-').map((x) => x.trim());
  const signAlgo = algo[0];
  const hashAlgo = algo[algo.length - 1];
  const [headerCanon, bodyCanon] = (tags.get('c') ?? '').toLowerCase().split('/').map((x) => x.trim());
  const canon = (c: string | undefined): boolean => !c || c === 'simple' || c === 'relaxed';
  return {
    field,
    domain,
    selector,
    b: (tags.get('b') ?? '').replace(/\s+/g, ''),
    signedFields: h ? h.split(':').length : 0,
    bodyHashKey: [
      ((tags.get('c') ?? '').split('/')[1] ?? 'simple').trim().toLowerCase(),
      (tags.get('a') ?? '').split('-').pop()?.trim().toLowerCase(),
      (tags.get('l') ?? '').replace(/\s+/g, ''),
    ].join(':'),
    wellFormed:
      (signAlgo === 'rsa' || signAlgo === 'ed25519') &&
      (hashAlgo === 'sha256' || hashAlgo === 'sha1') &&
      canon(headerCanon) &&
      canon(bodyCanon) &&
      domain !== '' &&
      selector !== '',
    keyName: `${selector}._domainkey.${domain}`.replace(/\s+/g, '').toLowerCase(),
  };
}

/** Every DKIM-Signature field of the scanned header section, from the top. */
export function dkimSignatureInfos(raw: Buffer, scan: HeaderScan): SignatureInfo[] {
  return scan.fields.filter((f) => f.name === 'dkim-signature').map((f) => signatureInfo(raw, f));
}
