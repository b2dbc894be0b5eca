/**
 * DKIM signing of outbound messages (RFC 6376, RFC 8463 for Ed25519) with
 * mailauth's signer: c=relaxed/relaxed, one DKIM-Signature per key. The
 * result is the header field text (CRLF-terminated) that the caller PREPENDS
 * to the message it signed, unchanged.
 *
 * Signed header fields (h=): every instance present of DEFAULT_SIGNED_FIELDS
 * (or opts.headerFields), plus, for the fields in DEFAULT_OVERSIGNED_FIELDS,
 * one more name than instances present ("oversigning", RFC 6376 8.15 / 5.4.2:
 * a name in h= with no field left to match signs the field's absence), so
 * that nobody can add a second From, Subject, ... after signing without
 * breaking the signature.
 *
 * mailauth builds h= from the fields it finds and cannot list names that are
 * not there, so oversigning hooks into its signer: once it has parsed the
 * header section, the extra names are appended to the name it will write into
 * h= for the topmost signed field (`casedKey`, which mailauth uses only to
 * compose h=; the canonicalized fields it hashes are untouched). This relies
 * on mailauth internals (DkimSignStream.signer, messageHeaders, headers.parsed);
 * if they change, signMessage throws rather than signing without
 * oversigning, and test/mail-dkim-sign.test.ts fails.
 *
 * The signature covers the message with line ends normalized to CRLF
 * (mailauth does that, as SMTP transmission will): the caller must send it
 * with CRLF line ends.
 */
import { Writable } from 'node:stream';
import { DkimSignStream, type DKIMSignOptions } from 'mailauth';
import type { DkimAlgorithm } from './dkim-keys.ts';
import { parseHeaderBlock } from './headers.ts';

export interface DkimSigningKey {
  /** d=: the signing domain (A-label). */
  domain: string;
  /** s=: the selector; the public key is at `<selector>._domainkey.<domain>`. */
  selector: string;
  /** PKCS#8 (or PKCS#1 for RSA) PEM. */
  privateKeyPem: string;
  algorithm: DkimAlgorithm;
}

export interface DkimSignOptions {
  /** t= (default: the current time). */
  now?: Date;
  /** Header field names to sign (case-insensitive); From is always added (RFC 6376 5.4). */
  headerFields?: string[];
  /**
   * Names to oversign (only those also in the signed list count); default
   * DEFAULT_OVERSIGNED_FIELDS; [] turns oversigning off.
   */
  oversign?: string[];
}

/**
 * RFC 6376 5.4.1: the fields that identify the message and its content.
 * List-Unsubscribe-Post must be signed for one-click unsubscribe (RFC 8058 4).
 */
export const DEFAULT_SIGNED_FIELDS: readonly string[] = [
  'from',
  'sender',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'to',
  'cc',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'in-reply-to',
  'references',
  'resent-date',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-message-id',
  'list-id',
  'list-help',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'list-subscribe',
  'list-post',
  'list-owner',
  'list-archive',
  'autocrypt',
];

/**
 * Fields RFC 5322 3.6 allows at most once (and the MIME ones): a second
 * instance added in transit could change what a reader sees.
 */
export const DEFAULT_OVERSIGNED_FIELDS: readonly string[] = [
  'from',
  'sender',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'to',
  'cc',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
];

/** RFC 5322 2.2 field-name: printable ASCII except colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** Selector and domain: dot-separated labels (RFC 6376 3.1, 3.5 d=). */
const DKIM_NAME = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

function fieldList(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (!FIELD_NAME.test(name)) throw new Error(`invalid header field name ${JSON.stringify(raw)}`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** The shape of mailauth's DkimSigner that the oversigning hook needs (see the file comment). */
interface ParsedField {
  key?: unknown;
  casedKey?: unknown;
}
interface SignerInternals {
  messageHeaders: (headers: unknown) => Promise<void>;
  headers?: { parsed?: unknown };
}

function signerInternals(stream: DkimSignStream): SignerInternals {
  const signer = (stream as unknown as { signer?: unknown }).signer;
  if (typeof signer !== 'object' || signer === null || typeof (signer as SignerInternals).messageHeaders !== 'function') {
    throw new Error('mailauth DkimSignStream internals changed: cannot oversign');
  }
  return signer as SignerInternals;
}

/**
 * Makes the signer write `extra` names into h= (see the file comment). The
 * names go after the topmost signed field's own name: their position in h=
 * does not matter, only how many times each name occurs.
 */
function hookOversigning(stream: DkimSignStream, signed: readonly string[], extra: readonly string[]): void {
  const signer = signerInternals(stream);
  const original = signer.messageHeaders.bind(signer);
  signer.messageHeaders = async (headers: unknown): Promise<void> => {
    await original(headers);
    const parsed = signer.headers?.parsed;
    if (!Array.isArray(parsed)) throw new Error('mailauth DkimSigner internals changed: cannot oversign');
    const top = (parsed as ParsedField[]).find((f) => typeof f.key === 'string' && signed.includes(f.key));
    if (!top || typeof top.casedKey !== 'string') throw new Error('mailauth DkimSigner internals changed: cannot oversign');
    // mailauth joins h= names with ': '.
    top.casedKey = [top.casedKey, ...extra.map(displayName)].join(': ');
  };
}

/** `content-type` -> `Content-Type`, `message-id` -> `Message-ID`: how the names read in h=. */
function displayName(name: string): string {
  if (name === 'message-id') return 'Message-ID';
  if (name === 'mime-version') return 'MIME-Version';
  return name.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** Whether the header section ends with an empty line somewhere (CRLF CRLF, or bare LF). */
function hasHeaderEnd(message: Buffer): boolean {
  if (message[0] === 0x0a || (message[0] === 0x0d && message[1] === 0x0a)) return true;
  for (let i = message.indexOf(0x0a); i >= 0; i = message.indexOf(0x0a, i + 1)) {
    if (message[i + 1] === 0x0a || (message[i + 1] === 0x0d && message[i + 2] === 0x0a)) return true;
  }
  return false;
}

/** The first `n` octets of a chunk list, without joining all of it. */
function firstOctets(chunks: readonly Buffer[], n: number): Buffer {
  const head: Buffer[] = [];
  let size = 0;
  for (const c of chunks) {
    if (size >= n) break;
    head.push(c.subarray(0, n - size));
    size += Math.min(c.length, n - size);
  }
  return Buffer.concat(head);
}

function describeErrors(errors: unknown): string {
  if (!Array.isArray(errors)) return '';
  return errors
    .map((e: unknown) => {
      const entry = e as { err?: unknown; selector?: unknown; signingDomain?: unknown } | null;
      const err = entry?.err instanceof Error ? entry.err : e;
      const where = typeof entry?.selector === 'string' ? ` (s=${entry.selector} d=${String(entry.signingDomain)})` : '';
      return (err instanceof Error ? err.message : String(err)) + where;
    })
    .join('; ');
}

/**
 * The DKIM-Signature header fields for `message`, one per key, as text
 * ending in CRLF, to prepend to the message. No keys: ''. Throws on an
 * invalid key, selector or domain, or a message without a From field
 * (RFC 6376 5.4: From MUST be signed).
 */
export async function signMessage(message: Buffer, keys: DkimSigningKey[], opts: DkimSignOptions = {}): Promise<string> {
  if (keys.length === 0) return '';
  const signed = fieldList(opts.headerFields ?? DEFAULT_SIGNED_FIELDS);
  if (!signed.includes('from')) signed.unshift('from');
  const oversign = fieldList(opts.oversign ?? DEFAULT_OVERSIGNED_FIELDS).filter((n) => signed.includes(n));

  const fields = parseHeaderBlock(message).fields;
  if (!fields.some((f) => f.name.toLowerCase() === 'from')) throw new Error('cannot DKIM-sign a message without a From field');

  const signatureData: DKIMSignOptions[] = keys.map((k) => {
    const domain = k.domain.replace(/\.$/, '').toLowerCase();
    const selector = k.selector.toLowerCase();
    if (!DKIM_NAME.test(domain) || domain.length > 253) throw new Error(`invalid DKIM signing domain ${JSON.stringify(k.domain)}`);
    if (!DKIM_NAME.test(selector) || selector.length > 253) throw new Error(`invalid DKIM selector ${JSON.stringify(k.selector)}`);
    if (k.algorithm !== 'rsa-sha256' && k.algorithm !== 'ed25519-sha256') {
      throw new Error(`unsupported DKIM algorithm ${String(k.algorithm)}`);
    }
    return { signingDomain: domain, selector, privateKey: k.privateKeyPem, algorithm: k.algorithm, canonicalization: 'relaxed/relaxed' };
  });
  const first = signatureData[0]!;
  const stream = new DkimSignStream({
    ...first,
    signatureData,
    // mailauth reads headerList as a colon-separated string (an array is
    // silently replaced by its defaults), whatever its index.d.ts says.
    headerList: signed.join(':') as unknown as string[],
    signTime: opts.now ?? new Date(),
  });
  if (oversign.length > 0) hookOversigning(stream, signed, oversign);

  // A header section without the empty line after it: the body is empty
  // (RFC 5322 3.5), and mailauth only signs once it has seen the empty line.
  const input = hasHeaderEnd(message)
    ? message
    : Buffer.concat([message, Buffer.from(message.subarray(-1)[0] === 0x0a ? '\r\n' : '\r\n\r\n')]);

  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    stream.on('error', reject);
    sink.on('error', reject);
    sink.on('finish', () => resolve());
    stream.pipe(sink);
    stream.end(input);
  });

  const errors = describeErrors(stream.errors);
  if (errors) throw new Error(`DKIM signing failed: ${errors}`);
  // DkimSignStream emits the signature fields (each CRLF-terminated), then the message.
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const text = firstOctets(chunks, total - input.length).toString('latin1');
  const count = (text.match(/^DKIM-Signature:/gim) ?? []).length;
  if (count !== keys.length || !text.endsWith('\r\n')) {
    throw new Error(`DKIM signing made ${count} signatures for ${keys.length} keys`);
  }
  return text;
}
