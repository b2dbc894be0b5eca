/**
 * Inbound message authentication: SPF (RFC 7208), DKIM (RFC 6376), ARC
 * (RFC 8617) and DMARC (RFC 7489), evaluated with mailauth, reported in an
 * Authentication-Results header field (RFC 8601) and a Received-SPF header
 * field (RFC 7208 9.1), and summed up as the DMARC verdict the SMTP session
 * acts on: accept, quarantine (deliver to Junk) or reject (550 5.7.1).
 *
 * Contract:
 *   - authenticateMessage never throws and always answers within
 *     `timeoutMs` (plus a few milliseconds of bookkeeping): any input (broken
 *     MIME, random bytes), DNS errors and DNS timeouts give temperror /
 *     permerror results and the action `accept`. Only a DMARC `fail` with an
 *     effective policy (p= / sp=, after the pct= sample) of quarantine or
 *     reject changes the action, and, as a guard against DMARC evasion, a
 *     From field with more than MAX_FROM_DOMAINS domains (quarantine).
 *   - No network I/O other than through the injected resolver; every mailauth
 *     call gets it (mailauth falls back to the system resolver otherwise), and
 *     BIMI (which fetches over HTTPS) is not used.
 *   - The work is bounded. mailauth parses the header section with an
 *     algorithm quadratic in the number of lines (60,000 folded lines: tens
 *     of seconds of blocked event loop), compares every h= entry of a
 *     signature with every header field, and hashes the whole body once per
 *     distinct (body canonicalization, hash, l=) of the signatures. So the
 *     header section handed to it is limited (bytes and lines), signatures
 *     with absurd h= lists are not verified, and only the topmost
 *     MAX_DKIM_SIGNATURES DKIM-Signature fields needing at most
 *     MAX_BODY_HASHES body hashes are (RFC 6376 6.1 allows a limit). The
 *     message is streamed to mailauth a chunk per event-loop turn, and the
 *     stream is destroyed when time runs out.
 *   - Memory is bounded for any size: a message too large to hold (spooled)
 *     comes as a MessageSource, its head (where the header section must
 *     end) and its octets read piece by piece, once. A body line or run of
 *     empty lines over MAX_BODY_LINE_BYTES, which mailauth would keep whole,
 *     is not verified (permerror).
 *   - DMARC temperror instead of fail when an identifier that would have
 *     aligned had a temporary error (DNS, or our time limit): a retry might
 *     pass. A temporary error of a non-aligned identifier changes nothing.
 *
 * The caller adds `header` on top of the message (RFC 8601 5, RFC 7208 9.1)
 * and should first drop forged results with removeForgedAuthResults, or
 * forgedAuthResultsEdit for a message known by its head (the verification
 * itself runs on the message as received).
 */
import { isIP } from 'node:net';
import {
  arc as mailauthArc,
  dkimVerify,
  dmarc as mailauthDmarc,
  spf as mailauthSpf,
  type ARCData,
  type ARCResult,
  type DKIMResult,
  type DKIMVerifyResult,
  type DMARCResult,
  type DNSResolver as MailauthResolver,
  type SPFResult,
} from 'mailauth';
import { addressParser } from 'postal-mime';
import { dnsError, type DnsAnswer, type DnsResolver } from './dns.ts';
import { messageInput, segmentStream, type MessageInput, type MessageSource, type StreamStop } from './message-stream.ts';

export { MAX_BODY_LINE_BYTES, type MessageSource } from './message-stream.ts';

// ---------------------------------------------------------------------------
// Public types

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';
/** RFC 8601 2.7.1 (`policy`: the signature was not accepted by local policy, e.g. a weak key). */
export type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'none' | 'temperror' | 'permerror';
export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
/** RFC 8617 4.4 chain validation status. */
export type ArcResult = 'pass' | 'fail' | 'none';
export type InboundAction = 'accept' | 'quarantine' | 'reject';

export interface DkimSignatureResult {
  /** d= (signing domain); '' when the signature has none. */
  domain: string;
  /** s= (selector); '' when the signature has none. */
  selector: string;
  result: DkimResult;
  /** Why, when not pass (e.g. "body hash did not verify"). */
  comment?: string;
}

export interface DmarcVerdict {
  result: DmarcResult;
  /**
   * The policy the domain owner asks for, for this From domain (p=, or sp=
   * when the record was found at the organizational domain; RFC 7489 6.3);
   * undefined when there is no DMARC record.
   */
  policy: DmarcPolicy | undefined;
  /** The RFC5322.From domain the verdict is about. */
  domain?: string;
  /** pct= (RFC 7489 6.3), 100 when absent. */
  pct?: number;
}

export interface InboundAuthResult {
  /**
   * `Authentication-Results: ...` then `Received-SPF: ...`, folded, every line
   * CRLF-terminated: prepend to the message as is.
   */
  header: string;
  /** The Authentication-Results field alone (CRLF-terminated). */
  authenticationResults: string;
  /** The Received-SPF field alone (CRLF-terminated). */
  receivedSpf: string;
  spf: SpfResult;
  dkim: DkimSignatureResult[];
  dmarc: DmarcVerdict;
  arc: ArcResult;
  action: InboundAction;
  /** For the SMTP reply text / log when action is not accept. */
  reason?: string;
}

export interface AuthenticateOptions {
  /** The SMTP client's IP address. */
  ip: string;
  /** EHLO/HELO argument. */
  helo: string;
  /** MAIL FROM address; null (or '') for the null reverse-path `<>`. */
  mailFrom: string | null;
  /** Our authserv-id (RFC 8601 2.5): the host name of this server. */
  hostname: string;
  resolver: DnsResolver;
  /** Bound for the whole evaluation (default 30 s). */
  timeoutMs?: number;
  /** Random source in [0, 1) for the pct= sample (RFC 7489 6.6.4); default Math.random. */
  random?: () => number;
}

// ---------------------------------------------------------------------------
// Limits

export const DEFAULT_AUTH_TIMEOUT_MS = 30_000;
/** DKIM-Signature fields verified, from the top (RFC 6376 6.1: "Verifiers MAY limit"). */
export const MAX_DKIM_SIGNATURES = 8;
/** Header section handed to mailauth (its parser is quadratic in the number of lines). */
export const MAX_AUTH_HEADER_BYTES = 256 * 1024;
export const MAX_AUTH_HEADER_LINES = 5000;
/**
 * Distinct body hashes (body canonicalization, hash algorithm, l=) computed for
 * DKIM signatures: mailauth hashes the whole body once per distinct one, at
 * roughly 15 MB/s each. The newest ARC-Message-Signature may add one more.
 */
export const MAX_BODY_HASHES = 3;
/** h= entries of one signature (mailauth compares each with every header field). */
export const MAX_SIGNED_HEADER_FIELDS = 256;
/**
 * From field bytes (all From fields together) handed to address parsers:
 * nodemailer's addressparser, which mailauth runs on every From field, is
 * quadratic on input such as "a,a,a,..." (100 KB: 11 s of blocked event loop).
 */
export const MAX_FROM_FIELD_BYTES = 4096;
/** Distinct RFC5322.From domains evaluated for DMARC. */
export const MAX_FROM_DOMAINS = 8;

/** Longest comment / property value we copy into a header field. */
const MAX_COMMENT_CHARS = 200;
const MAX_VALUE_CHARS = 256;

// ---------------------------------------------------------------------------
// Header section scanning (bytes, linear)

interface RawField {
  /** Lower-case field name, '' for a line without a colon. */
  name: string;
  /** Offset of the first byte of the field. */
  start: number;
  /** Offset after its last line terminator. */
  end: number;
  /** Offset after the colon (== end when there is none). */
  valueStart: number;
}

interface HeaderScan {
  fields: RawField[];
  /** Offset of the first body byte (raw.length when there is no body). */
  bodyStart: number;
  /** Lines in the header section. */
  lines: number;
  /** The scan stopped at maxBytes / maxLines: `fields` is incomplete. */
  truncated: boolean;
  /**
   * The header section ended with its empty line within `raw`. When `raw` is
   * only the first part of a message (a spooled message's head), false means
   * the section may go on after it, and its last field may be cut.
   */
  terminated: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Walks the header section field by field, calling `onField` for each
 * complete field. The section ends at the first empty line (LF LF or
 * LF CR LF, the same rule as src/mail/headers.ts and mailauth; a bare LF is a
 * line end), or at the end of the message. A line that starts with SP or HT
 * continues the field before it (RFC 5322 2.2.3). Linear in the input, and
 * keeps nothing itself.
 */
function walkHeader(
  raw: Buffer,
  onField: (f: RawField) => void,
  maxBytes = Infinity,
  maxLines = Infinity,
): Omit<HeaderScan, 'fields'> {
  let lines = 0;
  let pos = 0;
  let current: RawField | undefined;
  const done = (bodyStart: number, truncated: boolean, terminated = false) => {
    if (current) onField(current);
    return { bodyStart, lines, truncated, terminated };
  };
  while (pos < raw.length) {
    if (raw[pos] === LF) return done(pos + 1, false, true);
    if (raw[pos] === CR && raw[pos + 1] === LF) return done(pos + 2, false, true);
    if (lines >= maxLines) return done(raw.length, true);
    const nl = raw.indexOf(LF, pos);
    const end = nl === -1 ? raw.length : nl + 1;
    if (end > maxBytes) return done(raw.length, true);
    lines++;
    const first = raw[pos];
    if ((first === 0x20 || first === 0x09) && current) {
      current.end = end;
    } else {
      if (current) onField(current);
      const colon = raw.subarray(pos, end).indexOf(0x3a);
      current = {
        name: colon >= 0 ? raw.toString('latin1', pos, pos + colon).trim().toLowerCase() : '',
        start: pos,
        end,
        valueStart: colon >= 0 ? pos + colon + 1 : end,
      };
    }
    pos = end;
  }
  return done(raw.length, false);
}

function scanHeader(raw: Buffer, maxBytes = Infinity, maxLines = Infinity): HeaderScan {
  const fields: RawField[] = [];
  const rest = walkHeader(raw, (f) => fields.push(f), maxBytes, maxLines);
  return { fields, ...rest };
}

/** The unfolded value of a field (line breaks removed, whitespace kept). */
function fieldValue(raw: Buffer, f: RawField, encoding: BufferEncoding = 'utf8'): string {
  return raw.toString(encoding, f.valueStart, f.end).replace(/\r?\n/g, '');
}

// ---------------------------------------------------------------------------
// Forged Authentication-Results (RFC 8601 5)

const TOKEN_STOP = /[\x00-\x20()<>@,;:\\"/[\]?=\x7f]/;

/** The authserv-id of an Authentication-Results value: [CFWS] value (RFC 8601 2.2, value per RFC 2045). */
export function authservIdOf(value: string): string | undefined {
  const s = value;
  let i = 0;
  // [CFWS]: whitespace and (possibly nested) comments.
  for (;;) {
    while (i < s.length && /[ \t\r\n]/.test(s[i] ?? '')) i++;
    if (s[i] !== '(') break;
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        i++;
        break;
      }
    }
    if (depth > 0) return undefined;
  }
  if (s[i] === '"') {
    let out = '';
    for (i++; i < s.length; i++) {
      const c = s[i];
      if (c === '"') return out;
      if (c === '\\') i++;
      out += s[i] ?? '';
    }
    return undefined; // unterminated
  }
  let j = i;
  while (j < s.length && !TOKEN_STOP.test(s[j] ?? '')) j++;
  return j > i ? s.slice(i, j) : undefined;
}

/**
 * Removes the Authentication-Results header fields whose authserv-id is ours
 * (compared case-insensitively): RFC 8601 5 says an MTA SHOULD remove (or
 * obscure) such fields arriving from outside, since only we may write them.
 * Everything else, fields with other authserv-ids included, stays
 * byte-identical; without a match the input Buffer itself is returned.
 */
export function removeForgedAuthResults(raw: Buffer, authservId: string): Buffer {
  const ours = authservId.toLowerCase();
  if (!ours) return raw;
  // Kept bytes are copied as we go: no list of pieces that a message made of
  // a million forged fields could blow up.
  let out: Buffer | undefined;
  let written = 0;
  let kept = 0;
  walkHeader(raw, (f) => {
    if (f.name !== 'authentication-results') return;
    if (authservIdOf(fieldValue(raw, f))?.toLowerCase() !== ours) return;
    out ??= Buffer.alloc(raw.length); // zeroed: the unused tail stays reachable through .buffer
    written += raw.copy(out, written, kept, f.start);
    kept = f.end;
  });
  if (!out) return raw;
  written += raw.copy(out, written, kept, raw.length);
  return out.subarray(0, written);
}

/** How removeForgedAuthResults changes a message known by its first octets only. */
export interface HeadEdit {
  /** The first `length` octets of the message (they end after the last forged field)... */
  length: number;
  /** ...are replaced by these (the same octets without the forged fields). */
  replacement: Buffer;
}

/**
 * removeForgedAuthResults for a message of which only the first octets are
 * at hand (`head`, e.g. a spooled message's): the edit to apply to the
 * message's start, or undefined when there is nothing to remove. Only fields
 * that end within `head` are looked at: when `head` is not the whole message
 * (`whole` false) and the header section does not end in it, its last field
 * may continue after it and is left alone, as are fields further on (a header
 * section over MAX_HEADER_BYTES, the head's size, is not verified either).
 */
export function forgedAuthResultsEdit(head: Buffer, authservId: string, whole: boolean): HeadEdit | undefined {
  const ours = authservId.toLowerCase();
  if (!ours) return undefined;
  let lastStart = -1;
  let forgedEnd = 0;
  let forgedEndBefore = 0; // forgedEnd as it was before the last field
  const scan = walkHeader(head, (f) => {
    lastStart = f.start;
    forgedEndBefore = forgedEnd;
    if (f.name === 'authentication-results' && authservIdOf(fieldValue(head, f))?.toLowerCase() === ours) forgedEnd = f.end;
  });
  // The last field may be cut at the end of `head`: it does not count.
  const length = whole || scan.terminated || lastStart < 0 ? forgedEnd : forgedEndBefore;
  if (length === 0) return undefined;
  const prefix = head.subarray(0, length);
  return { length, replacement: Buffer.from(removeForgedAuthResults(prefix, authservId)) };
}

// ---------------------------------------------------------------------------
// Deadline

class Deadline {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly expiredPromise: Promise<void>;

  constructor(ms: number) {
    this.expiredPromise = new Promise<void>((resolve) => {
      this.timer = setTimeout(() => {
        this.controller.abort();
        resolve();
      }, ms);
    });
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** `p`, or `fallback()` when time runs out first. A rejection of `p` becomes `onError(err)`. */
  race<T>(p: Promise<T>, fallback: () => T, onError: (err: unknown) => T): Promise<T> {
    return Promise.race([p.catch(onError), this.expiredPromise.then(fallback)]);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/**
 * The resolver as mailauth gets it: fails fast once time is up, turns
 * anything thrown into an Error with a DNS code (mailauth reads `err.code`
 * and would itself throw on a thrown non-object), and checks the shape of the
 * answer (mailauth would throw on `row.join` of a non-array).
 */
function guardResolver(resolver: DnsResolver, deadline: Deadline): MailauthResolver {
  const guarded = async (name: string, rrtype: string): Promise<DnsAnswer> => {
    if (deadline.expired) throw dnsError('ETIMEOUT', name, rrtype);
    let answer: unknown;
    try {
      answer = await deadline.race<unknown>(
        Promise.resolve().then(() => resolver(name, rrtype)),
        () => {
          throw dnsError('ETIMEOUT', name, rrtype);
        },
        (err) => {
          throw err;
        },
      );
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (err instanceof Error && typeof code === 'string') throw err;
      throw dnsError(typeof code === 'string' ? code : 'ESERVFAIL', name, rrtype);
    }
    if (!wellFormedAnswer(answer, rrtype)) throw dnsError('EBADRESP', name, rrtype);
    return answer;
  };
  // mailauth declares string[][] | string[] but reads MX answers as objects (see dns.ts).
  return guarded as MailauthResolver;
}

function wellFormedAnswer(answer: unknown, rrtype: string): answer is DnsAnswer {
  if (!Array.isArray(answer)) return false;
  switch (rrtype) {
    case 'TXT':
      return answer.every((r) => Array.isArray(r) && r.every((s) => typeof s === 'string'));
    case 'MX':
      return answer.every(
        (r) => typeof r === 'object' && r !== null && typeof r.exchange === 'string' && typeof r.priority === 'number',
      );
    default:
      return answer.every((r) => typeof r === 'string');
  }
}

// ---------------------------------------------------------------------------
// Evaluation

interface SpfOutcome {
  result: SpfResult;
  comment?: string;
  /** The domain checked (MAIL FROM domain, or the HELO name for `<>`). */
  domain?: string;
  sender?: string;
  helo: string;
}

interface DkimOutcome {
  /** ok: mailauth ran; timeout / error: it did not finish; skipped: header section too large. */
  state: 'ok' | 'timeout' | 'error' | 'skipped';
  signatures: DkimSignatureResult[];
  /** Passing signatures, in the shape mailauth's dmarc() wants. */
  passing: { id?: string; domain: string; aligned?: boolean; underSized?: boolean }[];
  /** Domains whose verification hit a temporary error (or did not finish). */
  temperrorDomains: string[];
  arcData?: ARCData;
  /** ARC headers present but not handed to mailauth (too large): chain fails. */
  arcUnverifiable?: string;
}

interface ArcOutcome {
  result: ArcResult;
  comment?: string;
  raw?: ARCResult;
}

interface DmarcOutcome {
  verdict: DmarcVerdict;
  /** One clause per From domain evaluated. */
  clauses: Clause[];
  /** Effective policy after pct= sampling, for a failing verdict. */
  applied?: DmarcPolicy;
}

interface SignatureInfo {
  field: RawField;
  domain: string;
  selector: string;
  /** b= without whitespace, to match mailauth's results. */
  b: string;
  signedFields: number;
  /** Which body hash it needs (mailauth's key: body canonicalization, hash, l=). */
  bodyHashKey: string;
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

function signatureInfo(raw: Buffer, field: RawField): SignatureInfo {
  const tags = tagList(fieldValue(raw, field, 'latin1'));
  const h = tags.get('h') ?? '';
  return {
    field,
    domain: (tags.get('d') ?? '').toLowerCase(),
    selector: tags.get('s') ?? '',
    b: (tags.get('b') ?? '').replace(/\s+/g, ''),
    signedFields: h ? h.split(':').length : 0,
    bodyHashKey: [
      ((tags.get('c') ?? '').split('/')[1] ?? 'simple').trim().toLowerCase(),
      (tags.get('a') ?? '').split('-').pop()?.trim().toLowerCase(),
      (tags.get('l') ?? '').replace(/\s+/g, ''),
    ].join(':'),
  };
}

function mapSpf(result: string | undefined): SpfResult {
  switch (result) {
    case 'pass':
    case 'fail':
    case 'softfail':
    case 'neutral':
    case 'none':
    case 'permerror':
      return result;
    default:
      return 'temperror';
  }
}

function mapDkim(result: string | undefined, comment: string | undefined): DkimResult {
  switch (result) {
    case 'pass':
    case 'fail':
    case 'policy':
    case 'none':
    case 'temperror':
    case 'permerror':
      return result;
    case 'temperr':
      return 'temperror';
    case 'neutral':
      // RFC 6376 6.3: a body hash mismatch is PERMFAIL; the signature failed
      // verification, which RFC 8601 2.7.1 calls `fail`. mailauth (like Gmail)
      // reports `neutral`.
      return comment === 'body hash did not verify' ? 'fail' : 'neutral';
    default:
      return 'neutral';
  }
}

async function evaluateSpf(opts: AuthenticateOptions, resolver: MailauthResolver): Promise<SpfOutcome> {
  // As mailauth's authenticate(): no HELO -> the IP; an IP -> address literal.
  let helo = opts.helo.trim() || opts.ip;
  if (isIP(helo)) helo = `[${helo}]`;
  const sender = opts.mailFrom?.trim() || undefined;
  if (!isIP(opts.ip)) return { result: 'none', comment: 'no valid client IP address', helo, sender };
  const res: SPFResult = await mailauthSpf({ sender, ip: opts.ip, helo, mta: opts.hostname, resolver });
  return {
    result: mapSpf(res.status?.result),
    comment: res.status?.comment,
    domain: res.domain,
    sender: sender ?? `postmaster@${helo}`,
    helo,
  };
}

/**
 * @param unverifiable why mailauth must not see this header section at all
 *   (too large, a From field its address parser would choke on)
 * @param sender MAIL FROM, so that mailauth does not parse Return-Path fields
 */
async function evaluateDkim(
  input: MessageInput,
  scan: HeaderScan,
  unverifiable: string | undefined,
  sender: string,
  resolver: MailauthResolver,
  deadline: Deadline,
): Promise<DkimOutcome> {
  const raw = input.head;
  const sigFields = scan.fields.filter((f) => f.name === 'dkim-signature');
  const infos = sigFields.map((f) => signatureInfo(raw, f));
  const arcFields = scan.fields.filter((f) => f.name.startsWith('arc-'));

  if (unverifiable) {
    const comment = `${unverifiable}: not verified`;
    return {
      state: 'skipped',
      signatures: infos.length
        ? infos.map((s) => ({ domain: s.domain, selector: s.selector, result: 'permerror', comment }))
        : [{ domain: '', selector: '', result: 'permerror', comment }],
      passing: [],
      temperrorDomains: [],
      arcUnverifiable: arcFields.length ? comment : undefined,
    };
  }

  // Which fields mailauth does not see: signatures with absurd h= lists,
  // signatures over the limits (count, distinct body hashes; the topmost,
  // newest ones are verified), and the ARC sets if an AMS has an absurd h=.
  const dropped = new Set<RawField>();
  const notVerified: DkimSignatureResult[] = [];
  const bodyHashes = new Set<string>();
  let verified = 0;
  for (const s of infos) {
    if (s.signedFields > MAX_SIGNED_HEADER_FIELDS) {
      dropped.add(s.field);
      notVerified.push({ domain: s.domain, selector: s.selector, result: 'permerror', comment: 'too many signed header fields' });
    } else if (verified >= MAX_DKIM_SIGNATURES || (!bodyHashes.has(s.bodyHashKey) && bodyHashes.size >= MAX_BODY_HASHES)) {
      dropped.add(s.field);
      notVerified.push({ domain: s.domain, selector: s.selector, result: 'neutral', comment: 'not verified: too many signatures' });
    } else {
      verified++;
      bodyHashes.add(s.bodyHashKey);
    }
  }
  let arcUnverifiable: string | undefined;
  if (arcFields.some((f) => f.name === 'arc-message-signature' && signatureInfo(raw, f).signedFields > MAX_SIGNED_HEADER_FIELDS)) {
    arcUnverifiable = 'too many signed header fields';
    for (const f of arcFields) dropped.add(f);
  }

  const segments: Array<[number, number]> = [];
  let from = 0;
  for (const f of scan.fields) {
    if (!dropped.has(f)) continue;
    if (f.start > from) segments.push([from, f.start]);
    from = f.end;
  }
  if (input.size > from) segments.push([from, input.size]);

  const verifiedInfos = infos.filter((s) => !dropped.has(s.field));
  let res: DKIMVerifyResult;
  const stopped: { stop?: StreamStop } = {};
  try {
    res = await dkimVerify(segmentStream(input.pieces(), segments, deadline.controller.signal, stopped), { resolver, sender });
  } catch {
    // Out of time, or the message could not be read: temporary. mailauth
    // failing on this input, or a body we do not hand it (line too long):
    // it would fail again, so permanent (and an attacker cannot turn it into
    // a DMARC temperror, see evaluateDmarc).
    const timedOut = deadline.expired || stopped.stop?.temporary === true;
    const comment = deadline.expired ? 'verification timed out' : (stopped.stop?.comment ?? 'verification failed');
    return {
      state: timedOut ? 'timeout' : 'error',
      signatures: [
        ...verifiedInfos.map((s): DkimSignatureResult => ({
          domain: s.domain,
          selector: s.selector,
          result: timedOut ? 'temperror' : 'permerror',
          comment,
        })),
        ...notVerified,
      ],
      passing: [],
      temperrorDomains: timedOut ? verifiedInfos.map((s) => s.domain).filter((d) => d) : [],
      arcUnverifiable,
    };
  }

  const signatures: DkimSignatureResult[] = [];
  const passing: DkimOutcome['passing'] = [];
  const temperrorDomains: string[] = [];
  const seen = new Set<string>();
  for (const r of (res.results ?? []) as Array<DKIMResult & { signature?: string }>) {
    if (!r.signingDomain && r.status?.result === 'none') continue; // "message not signed" placeholder
    const comment = typeof r.status?.comment === 'string' ? r.status.comment : undefined;
    const result = mapDkim(r.status?.result, comment);
    const domain = (r.signingDomain ?? '').toLowerCase();
    signatures.push({ domain, selector: r.selector ?? '', result, ...(comment ? { comment } : {}) });
    seen.add((r.signature ?? '').replace(/\s+/g, ''));
    if (result === 'pass') {
      passing.push({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized });
    }
    if (result === 'temperror' && domain) temperrorDomains.push(domain);
  }
  // mailauth silently skips signatures it cannot parse (unknown a=, c=, no d=
  // or s=): RFC 6376 6.1.1 PERMFAIL, reported rather than hidden.
  for (const s of verifiedInfos) {
    if (seen.has(s.b)) continue;
    signatures.push({ domain: s.domain, selector: s.selector, result: 'permerror', comment: 'malformed or unsupported signature' });
  }
  signatures.push(...notVerified);

  return { state: 'ok', signatures, passing, temperrorDomains, arcData: res.arc as ARCData | undefined, arcUnverifiable };
}

async function evaluateArc(dkim: DkimOutcome, resolver: MailauthResolver): Promise<ArcOutcome> {
  if (dkim.arcUnverifiable) return { result: 'fail', comment: dkim.arcUnverifiable };
  if (dkim.state !== 'ok' || !dkim.arcData) return { result: 'none' };
  const res = await mailauthArc(dkim.arcData, { resolver });
  const result: ArcResult = res.status?.result === 'pass' ? 'pass' : res.status?.result === 'fail' ? 'fail' : 'none';
  return { result, comment: typeof res.status?.comment === 'string' ? res.status.comment : undefined, raw: res };
}

interface FromInfo {
  /** RFC5322.From domains (RFC 7489 3.1), lower case, distinct, in order. */
  domains: string[];
  /** Set when the From field is too odd to evaluate (too long, too many domains). */
  unusual?: string;
}

/** Value bytes of all fields with that (lower-case) name. */
function fieldBytes(fields: RawField[], name: string): number {
  return fields.reduce((n, f) => (f.name === name ? n + (f.end - f.valueStart) : n), 0);
}

/** The RFC5322.From domains, from our own bounded parse (RFC 7489 6.6.1). */
function fromInfo(raw: Buffer, fields: RawField[]): FromInfo {
  if (fieldBytes(fields, 'from') > MAX_FROM_FIELD_BYTES) return { domains: [], unusual: 'RFC5322.From field too long' };
  const from = fields.filter((f) => f.name === 'from');
  const domains = new Set<string>();
  for (const f of from) {
    let list: { address?: string }[];
    try {
      list = addressParser(fieldValue(raw, f).trim(), { flatten: true });
    } catch {
      continue;
    }
    for (const a of list) {
      const address = a.address ?? '';
      const at = address.lastIndexOf('@');
      const domain = at >= 0 ? address.slice(at + 1).trim().toLowerCase().replace(/\.$/, '') : '';
      if (domain) domains.add(domain);
    }
  }
  if (domains.size > MAX_FROM_DOMAINS) return { domains: [], unusual: `more than ${MAX_FROM_DOMAINS} RFC5322.From domains` };
  return { domains: [...domains] };
}

function normalizePolicy(p: unknown): DmarcPolicy | undefined {
  const v = typeof p === 'string' ? p.trim().toLowerCase() : '';
  return v === 'none' || v === 'quarantine' || v === 'reject' ? v : undefined;
}

/**
 * pct= from the record text. mailauth parses it with parseInt(...) || 0, so a
 * malformed value would disable the policy; RFC 7489 6.3 says 0 to 100,
 * default 100, and an invalid value is ignored (6.6.3: unknown/invalid tags
 * are ignored).
 */
function pctOf(rr: string | undefined): number {
  const m = /(?:^|;)\s*pct\s*=\s*(\d{1,3})\s*(?:;|$)/i.exec(rr ?? '');
  const n = m?.[1] === undefined ? 100 : Number(m[1]);
  return n >= 0 && n <= 100 ? n : 100;
}

/** Worse first: which per-domain result the combined verdict reports. */
const DMARC_RANK: Record<DmarcResult, number> = { fail: 5, temperror: 4, permerror: 3, none: 2, pass: 1 };
const POLICY_RANK: Record<DmarcPolicy, number> = { reject: 3, quarantine: 2, none: 1 };

async function evaluateDmarc(
  from: FromInfo,
  spf: SpfOutcome,
  dkim: DkimOutcome,
  arc: ArcOutcome,
  resolver: MailauthResolver,
  random: () => number,
): Promise<DmarcOutcome> {
  const { domains, unusual } = from;
  if (unusual) {
    // Not evaluable, and a classic way to hide a From domain from DMARC:
    // Junk rather than the inbox.
    const comment = unusual;
    return {
      verdict: { result: 'permerror', policy: undefined },
      clauses: [{ method: 'dmarc', result: 'permerror', comment, props: [] }],
      applied: 'quarantine',
    };
  }
  if (domains.length === 0) {
    const comment = 'no RFC5322.From domain';
    return { verdict: { result: 'permerror', policy: undefined }, clauses: [{ method: 'dmarc', result: 'permerror', comment, props: [] }] };
  }

  const spfDomains = spf.result === 'pass' && spf.domain ? [spf.domain] : [];
  const evaluated: Array<{ domain: string; verdict: DmarcVerdict; clause: Clause }> = [];
  for (const domain of domains) {
    const ask = (spfList: string[], dkimList: DkimOutcome['passing']): Promise<DMARCResult | false> =>
      mailauthDmarc({ headerFrom: domain, spfDomains: spfList, dkimDomains: dkimList, arcResult: arc.raw, resolver });
    const res = await ask(spfDomains, dkim.passing);
    let result: DmarcResult;
    let policy: DmarcPolicy | undefined;
    let pct: number | undefined;
    let comment: string | undefined;
    if (!res) {
      result = 'permerror';
      comment = 'no single RFC5322.From address';
    } else {
      const r = res.status?.result;
      result = r === 'pass' || r === 'fail' || r === 'none' || r === 'temperror' ? r : 'permerror';
      if (result === 'pass' || result === 'fail') {
        // RFC 7489 6.6.3: an invalid sp= falls back to p=, an invalid p= to none.
        policy = normalizePolicy(res.policy) ?? normalizePolicy(res.p) ?? 'none';
        pct = pctOf(res.rr);
      }
      if (result === 'fail') {
        // A temporary error of an identifier that would have aligned: a later
        // attempt might pass (RFC 8601 2.7.1 temperror). Asked of mailauth's
        // own alignment rules by pretending those identifiers passed.
        const maybeSpf = spf.result === 'temperror' && spf.domain ? [spf.domain] : [];
        const maybeDkim = dkim.temperrorDomains.map((d) => ({ domain: d }));
        if (maybeSpf.length || maybeDkim.length) {
          const hypothetical = await ask([...spfDomains, ...maybeSpf], [...dkim.passing, ...maybeDkim]);
          if (hypothetical && hypothetical.status?.result === 'pass') {
            result = 'temperror';
            comment = 'an aligned identifier could not be verified';
          }
        }
      }
      if (!comment && res.status?.comment) comment = res.status.comment;
      if (result === 'temperror' && !comment) comment = 'DNS failure';
    }
    const verdict: DmarcVerdict = { result, policy, domain, ...(pct !== undefined ? { pct } : {}) };
    evaluated.push({ domain, verdict, clause: { method: 'dmarc', result, comment, props: [['header.from', domain]] } });
  }

  // Several From domains (RFC 7489 6.6.1): the worst result, and among
  // failures the strictest policy.
  let worst = evaluated[0]!;
  for (const e of evaluated) {
    const better = DMARC_RANK[e.verdict.result] - DMARC_RANK[worst.verdict.result];
    const stricter =
      better === 0 && e.verdict.result === 'fail' && POLICY_RANK[e.verdict.policy ?? 'none'] > POLICY_RANK[worst.verdict.policy ?? 'none'];
    if (better > 0 || stricter) worst = e;
  }

  let applied: DmarcPolicy | undefined;
  if (worst.verdict.result === 'fail') {
    applied = worst.verdict.policy ?? 'none';
    // RFC 7489 6.6.4: a message outside the pct= sample gets the next policy down.
    const pct = worst.verdict.pct ?? 100;
    if (!(random() * 100 < pct)) applied = applied === 'reject' ? 'quarantine' : 'none';
  }
  return { verdict: worst.verdict, clauses: evaluated.map((e) => e.clause), applied };
}

// ---------------------------------------------------------------------------
// Header fields

interface Clause {
  method: string;
  result: string;
  comment?: string;
  props: Array<[string, string]>;
}

function clean(s: string, max: number): string {
  const t = s
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

/** Comment words (RFC 5322 3.2.2 ccontent: `(`, `)`, `\` escaped), split where folding may happen. */
function commentAtoms(comment: string | undefined): string[] {
  const text = clean(comment ?? '', MAX_COMMENT_CHARS).replace(/[()\\]/g, (c) => `\\${c}`);
  if (!text) return [];
  const words = text.split(' ');
  words[0] = `(${words[0]}`;
  words[words.length - 1] = `${words[words.length - 1]})`;
  return words;
}

const RFC2045_TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const DOMAIN_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 2045 value: token or quoted-string. */
function valueText(s: string): string {
  const v = clean(s, MAX_VALUE_CHARS);
  return RFC2045_TOKEN.test(v) ? v : quoted(v);
}

/** RFC 8601 2.2 pvalue: value, or [[local-part] "@"] domain-name unquoted. */
function pvalueText(s: string): string {
  const v = clean(s, MAX_VALUE_CHARS);
  if (RFC2045_TOKEN.test(v)) return v;
  const at = v.lastIndexOf('@');
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    if ((local === '' || DOT_ATOM.test(local)) && DOMAIN_NAME.test(domain)) return v;
  }
  return quoted(v);
}

/** RFC 7208 9.1 key-value-pair value: dot-atom or quoted-string. */
function spfValueText(s: string): string {
  const v = clean(s, MAX_VALUE_CHARS);
  return DOT_ATOM.test(v) ? v : quoted(v);
}

const FOLD_AT = 78;

/** Packs atoms onto lines of at most 78 characters where the atoms allow (RFC 5322 2.1.1). */
function foldAtoms(first: string, atoms: string[], indent: string, lines: string[]): void {
  let line = first;
  for (const atom of atoms) {
    if (line.trim() !== '' && line.length + 1 + atom.length > FOLD_AT) {
      lines.push(line);
      line = indent + atom;
    } else {
      line = line.trim() === '' ? line + atom : `${line} ${atom}`;
    }
  }
  lines.push(line);
}

function clauseAtoms(c: Clause): string[] {
  return [
    `${c.method}=${c.result}`,
    ...commentAtoms(c.comment),
    ...c.props.map(([k, v]) => `${k}=${pvalueText(v)}`),
  ];
}

/** `Authentication-Results: <authserv-id>;` then one resinfo per line (RFC 8601 2.2). */
function formatAuthenticationResults(authservId: string, clauses: Clause[]): string {
  const lines: string[] = [`Authentication-Results: ${valueText(authservId || 'localhost')};`];
  clauses.forEach((c, i) => {
    const atoms = clauseAtoms(c);
    if (i < clauses.length - 1) atoms[atoms.length - 1] += ';';
    foldAtoms(' ', atoms, '   ', lines);
  });
  return lines.map((l) => `${l}\r\n`).join('');
}

/** RFC 7208 9.1: `Received-SPF: result (comment) key=value; ...`. */
function formatReceivedSpf(spf: SpfOutcome, opts: AuthenticateOptions): string {
  const pairs: string[] = [`client-ip=${spfValueText(opts.ip)}`];
  if (opts.mailFrom?.trim()) pairs.push(`envelope-from=${spfValueText(opts.mailFrom.trim())}`);
  if (spf.helo) pairs.push(`helo=${spfValueText(spf.helo)}`);
  pairs.push(`receiver=${spfValueText(opts.hostname || 'localhost')}`);
  pairs.push(`identity=${opts.mailFrom?.trim() ? 'mailfrom' : 'helo'}`);
  const atoms = [spf.result, ...commentAtoms(spf.comment), ...pairs.map((p) => `${p};`)];
  const lines: string[] = [];
  foldAtoms('Received-SPF:', atoms, ' ', lines);
  return lines.map((l) => `${l}\r\n`).join('');
}

function spfClause(spf: SpfOutcome): Clause {
  const props: Array<[string, string]> = [];
  if (spf.sender) props.push(['smtp.mailfrom', spf.sender]);
  if (spf.helo) props.push(['smtp.helo', spf.helo]);
  return { method: 'spf', result: spf.result, comment: spf.comment, props };
}

function dkimClauses(dkim: DkimOutcome): Clause[] {
  if (dkim.signatures.length === 0) return [{ method: 'dkim', result: 'none', comment: 'message not signed', props: [] }];
  return dkim.signatures.map((s) => {
    const props: Array<[string, string]> = [];
    if (s.domain) props.push(['header.d', s.domain]);
    if (s.selector) props.push(['header.s', s.selector]);
    return { method: 'dkim', result: s.result, comment: s.result === 'pass' ? undefined : s.comment, props };
  });
}

function arcClause(arc: ArcOutcome, ip: string): Clause {
  const props: Array<[string, string]> = isIP(ip) ? [['smtp.remote-ip', ip]] : [];
  return { method: 'arc', result: arc.result, comment: arc.comment, props };
}

function assemble(
  opts: AuthenticateOptions,
  spf: SpfOutcome,
  dkim: DkimOutcome,
  arc: ArcOutcome,
  dmarc: DmarcOutcome,
): InboundAuthResult {
  const clauses = [...dkimClauses(dkim), spfClause(spf), ...dmarc.clauses, arcClause(arc, opts.ip)];
  const authenticationResults = formatAuthenticationResults(opts.hostname, clauses);
  const receivedSpf = formatReceivedSpf(spf, opts);
  const action: InboundAction =
    dmarc.applied === 'reject' ? 'reject' : dmarc.applied === 'quarantine' ? 'quarantine' : 'accept';
  const domain = dmarc.verdict.domain;
  let reason: string | undefined;
  if (action !== 'accept') {
    reason =
      dmarc.verdict.result === 'fail'
        ? `DMARC policy of ${domain ?? 'the sender domain'} (${dmarc.verdict.policy ?? 'none'}) not satisfied`
        : 'RFC5322.From field cannot be evaluated for DMARC';
  }
  return {
    header: authenticationResults + receivedSpf,
    authenticationResults,
    receivedSpf,
    spf: spf.result,
    dkim: dkim.signatures,
    dmarc: dmarc.verdict,
    arc: arc.result,
    action,
    ...(reason ? { reason } : {}),
  };
}

/** Everything temperror / accept: what we answer when something we did not foresee goes wrong. */
function failSafe(opts: AuthenticateOptions, comment: string): InboundAuthResult {
  try {
    const helo = typeof opts.helo === 'string' ? opts.helo : '';
    const spf: SpfOutcome = { result: 'temperror', comment, helo };
    const dkim: DkimOutcome = { state: 'error', signatures: [], passing: [], temperrorDomains: [] };
    return assemble(opts, spf, dkim, { result: 'none' }, {
      verdict: { result: 'temperror', policy: undefined },
      clauses: [{ method: 'dmarc', result: 'temperror', comment, props: [] }],
    });
  } catch {
    const header = 'Authentication-Results: localhost;\r\n spf=temperror;\r\n dkim=temperror;\r\n dmarc=temperror\r\n';
    return {
      header,
      authenticationResults: header,
      receivedSpf: '',
      spf: 'temperror',
      dkim: [],
      dmarc: { result: 'temperror', policy: undefined },
      arc: 'none',
      action: 'accept',
    };
  }
}

/**
 * SPF (RFC 7208) for the MAIL FROM identity (postmaster@HELO for `<>`,
 * RFC 7208 2.4), DKIM (RFC 6376) for every DKIM-Signature up to the limit,
 * ARC (RFC 8617) chain validation, DMARC (RFC 7489) for each RFC5322.From
 * domain; see the file comment for the guarantees.
 */
export async function authenticateMessage(raw: Buffer | MessageSource, opts: AuthenticateOptions): Promise<InboundAuthResult> {
  let deadline: Deadline | undefined;
  try {
    const requested = opts.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    // setTimeout fires at once for more than 2^31-1 ms; ten minutes is plenty.
    const timeoutMs = Number.isFinite(requested) && requested > 0 ? Math.min(requested, 600_000) : DEFAULT_AUTH_TIMEOUT_MS;
    const d = new Deadline(timeoutMs);
    deadline = d;
    const input = messageInput(raw);
    const message = input.head;
    const resolver = guardResolver(opts.resolver, d);
    const random = opts.random ?? Math.random;

    let scan = scanHeader(message, MAX_AUTH_HEADER_BYTES, MAX_AUTH_HEADER_LINES);
    // Only the head of the message at hand: its header section must end in it.
    if (input.size > message.length && !scan.terminated) scan = { ...scan, truncated: true };
    // From domains from our own bounded parse: available even when mailauth's is not.
    const from = fromInfo(message, scan.truncated ? scanHeader(message.subarray(0, MAX_AUTH_HEADER_BYTES)).fields : scan.fields);
    const domains = from.domains;
    const unverifiable = scan.truncated
      ? 'header section too large'
      : fieldBytes(scan.fields, 'from') > MAX_FROM_FIELD_BYTES
        ? 'From field too long'
        : undefined;
    // mailauth reads the envelope sender from Return-Path when not given one; '<>' is "none".
    const sender = opts.mailFrom?.trim().slice(0, 512) || '<>';

    const spfTimeout = (): SpfOutcome => ({ result: 'temperror', comment: 'SPF evaluation timed out', helo: opts.helo });
    const spfError = (): SpfOutcome => ({ result: 'temperror', comment: 'SPF evaluation failed', helo: opts.helo });
    const dkimFallback = (timedOut: boolean) => (): DkimOutcome => {
      const infos = scan.fields.filter((f) => f.name === 'dkim-signature').map((f) => signatureInfo(message, f));
      return {
        state: timedOut ? 'timeout' : 'error',
        signatures: infos.map((s) => ({
          domain: s.domain,
          selector: s.selector,
          result: timedOut ? 'temperror' : 'permerror',
          comment: timedOut ? 'verification timed out' : 'verification failed',
        })),
        passing: [],
        temperrorDomains: timedOut ? infos.map((s) => s.domain).filter((x) => x) : [],
      };
    };

    const [spf, dkim] = await Promise.all([
      d.race(evaluateSpf(opts, resolver), spfTimeout, spfError),
      d.race(evaluateDkim(input, scan, unverifiable, sender, resolver, d), dkimFallback(true), dkimFallback(false)),
    ]);
    const arc = await d.race(
      evaluateArc(dkim, resolver),
      (): ArcOutcome => ({ result: 'none', comment: 'not evaluated: time limit' }),
      (): ArcOutcome => ({ result: 'fail', comment: 'ARC evaluation failed' }),
    );
    const dmarcTemp = (comment: string) => (): DmarcOutcome => ({
      verdict: { result: 'temperror', policy: undefined, ...(domains[0] ? { domain: domains[0] } : {}) },
      clauses: [{ method: 'dmarc', result: 'temperror', comment, props: domains[0] ? [['header.from', domains[0]]] : [] }],
    });
    const dmarc = await d.race(
      evaluateDmarc(from, spf, dkim, arc, resolver, random),
      dmarcTemp('DMARC evaluation timed out'),
      dmarcTemp('DMARC evaluation failed'),
    );
    return assemble(opts, spf, dkim, arc, dmarc);
  } catch {
    return failSafe(opts, 'internal error');
  } finally {
    deadline?.controller.abort();
    deadline?.dispose();
  }
}
