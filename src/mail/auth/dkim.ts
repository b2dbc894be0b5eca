/**
 * DKIM (RFC 6376) verification of a message's DKIM-Signature fields with
 * mailauth, within the limits of limits.ts: which signatures (and ARC sets)
 * mailauth gets to see, the message streamed to it without the others, and
 * mailauth's results mapped to RFC 8601 2.7.1 results, with the signatures it
 * skipped silently reported. Its pass of the ARC headers feeds arc.ts.
 *
 * When time runs out (or the message cannot be read), the signatures mailauth
 * finished keep their results, and only those whose verification was still
 * genuinely pending are temperror: every signature while the body is still
 * being hashed, then only those whose key record is still being looked up
 * (RFC 6376 6.1.2: a key that could not be retrieved is TEMPFAIL). The others
 * are not: over the limits (never to be verified), malformed, or waiting
 * behind another signature's key lookup (neutral, "not verified"). Only
 * temperror signatures can turn a DMARC fail into temperror (dmarc.ts, RFC
 * 7489 6.6.2), so a signature that the sender's own DNS keeps pending cannot
 * save a junk signature of someone else's domain. mailauth verifies one
 * signature after another, top first, so the key lookup that is pending
 * tells which signature it is on; the time-out fallback of authenticate.ts
 * and the error path here answer from the same state (DkimProgress), frozen
 * when time runs out.
 */
import type { Readable } from 'node:stream';
import type { ARCData, DKIMResult } from 'mailauth';
import { DkimVerifier } from 'mailauth/lib/dkim/dkim-verifier.js';
import { segmentStream, type MessageInput, type StreamStop } from '../message-stream.ts';
import type { Deadline } from './deadline.ts';
import { dkimSignatureInfos, signatureInfo, type SignatureInfo } from './dkim-signature.ts';
import type { MailauthResolver } from './guarded-resolver.ts';
import type { HeaderScan, RawField } from './header-scan.ts';
import { MAX_BODY_HASHES, MAX_DKIM_SIGNATURES, MAX_SIGNED_HEADER_FIELDS } from './limits.ts';
import type { DkimResult, DkimSignatureResult } from './types.ts';

export interface DkimOutcome {
  /** ok: mailauth ran; timeout / error: it did not finish; skipped: header section too large. */
  state: 'ok' | 'timeout' | 'error' | 'skipped';
  signatures: DkimSignatureResult[];
  /** Passing signatures, in the shape mailauth's dmarc() wants. */
  passing: { id?: string; domain: string; aligned?: boolean; underSized?: boolean }[];
  /** Domains of signatures whose verification hit a temporary error (or was pending when time ran out). */
  temperrorDomains: string[];
  arcData?: ARCData;
  /** ARC headers present but not handed to mailauth (too large): chain fails. */
  arcUnverifiable?: string;
}

type MailauthDkimResult = DKIMResult & { signature?: string };

/** Which signatures mailauth verifies, and how the others are reported. */
interface DkimPlan {
  /** Handed to mailauth, from the top. */
  verified: SignatureInfo[];
  /** Over the limits: never verified, reported as they are. */
  notVerified: DkimSignatureResult[];
  /** The fields mailauth does not see (those signatures, too large ARC sets). */
  dropped: Set<RawField>;
  arcUnverifiable?: string;
}

/** How far mailauth got: its results so far, and the key records it is waiting for. */
interface DkimState {
  results: readonly MailauthDkimResult[];
  /** Key record names (lower case) being looked up. */
  pendingKeys: ReadonlySet<string>;
  /** mailauth has hashed the body and started on the signatures (a key lookup, a result). */
  started: boolean;
}

/**
 * How far verification got, filled in by evaluateDkim and read by whoever
 * answers when it does not finish (dkimNotFinished, its own error path).
 */
export interface DkimProgress {
  plan?: DkimPlan;
  /** mailauth's verifier's results array, read live. */
  results: readonly MailauthDkimResult[];
  /** Key lookups in flight, by lower-case name. */
  pendingKeys: Map<string, number>;
  keyLookups: number;
  /** The state when time ran out: mailauth goes on afterwards, with failing lookups. */
  frozen?: DkimState;
}

export function dkimProgress(): DkimProgress {
  return { results: [], pendingKeys: new Map(), keyLookups: 0 };
}

function stateOf(p: DkimProgress): DkimState {
  return {
    results: [...p.results],
    pendingKeys: new Set(p.pendingKeys.keys()),
    started: p.keyLookups > 0 || p.results.length > 0,
  };
}

function signatureResult(s: SignatureInfo, result: DkimResult, comment: string): DkimSignatureResult {
  return { domain: s.domain, selector: s.selector, result, comment };
}

/**
 * Which fields mailauth does not see: signatures with absurd h= lists,
 * signatures over the limits (count, distinct body hashes; the topmost,
 * newest ones are verified), and the ARC sets if an AMS has an absurd h=.
 */
function planVerification(raw: Buffer, scan: HeaderScan): DkimPlan {
  const dropped = new Set<RawField>();
  const verified: SignatureInfo[] = [];
  const notVerified: DkimSignatureResult[] = [];
  const bodyHashes = new Set<string>();
  for (const s of dkimSignatureInfos(raw, scan)) {
    if (s.signedFields > MAX_SIGNED_HEADER_FIELDS) {
      dropped.add(s.field);
      notVerified.push(signatureResult(s, 'permerror', 'too many signed header fields'));
    } else if (verified.length >= MAX_DKIM_SIGNATURES || (!bodyHashes.has(s.bodyHashKey) && bodyHashes.size >= MAX_BODY_HASHES)) {
      dropped.add(s.field);
      notVerified.push(signatureResult(s, 'neutral', 'not verified: too many signatures'));
    } else {
      verified.push(s);
      bodyHashes.add(s.bodyHashKey);
    }
  }
  const arcFields = scan.fields.filter((f) => f.name.startsWith('arc-'));
  let arcUnverifiable: string | undefined;
  if (arcFields.some((f) => f.name === 'arc-message-signature' && signatureInfo(raw, f).signedFields > MAX_SIGNED_HEADER_FIELDS)) {
    arcUnverifiable = 'too many signed header fields';
    for (const f of arcFields) dropped.add(f);
  }
  return { verified, notVerified, dropped, arcUnverifiable };
}

/** mailauth's results as RFC 8601 results, and what DMARC gets of them. */
class Collected {
  readonly signatures: DkimSignatureResult[] = [];
  readonly passing: DkimOutcome['passing'] = [];
  readonly temperrorDomains: string[] = [];
  private readonly seen = new Set<string>();

  constructor(results: readonly MailauthDkimResult[]) {
    for (const r of results) {
      if (!r.signingDomain && r.status?.result === 'none') continue; // "message not signed" placeholder
      const comment = typeof r.status?.comment === 'string' ? r.status.comment : undefined;
      const result = mapDkim(r.status?.result, comment);
      const domain = (r.signingDomain ?? '').toLowerCase();
      this.signatures.push({ domain, selector: r.selector ?? '', result, ...(comment ? { comment } : {}) });
      this.seen.add((r.signature ?? '').replace(/\s+/g, ''));
      if (result === 'pass') {
        this.passing.push({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized });
      }
      if (result === 'temperror' && domain) this.temperrorDomains.push(domain);
    }
  }

  /** Whether mailauth reported on this signature. */
  has(s: SignatureInfo): boolean {
    return this.seen.has(s.b);
  }

  /** A signature mailauth has no result for. */
  add(s: SignatureInfo, result: DkimResult, comment: string): void {
    this.signatures.push(signatureResult(s, result, comment));
    if (result === 'temperror' && s.domain) this.temperrorDomains.push(s.domain);
  }
}

/**
 * Out of time (or the message could not be read): mailauth's results so far,
 * temperror for the signatures still pending, the others as they would be
 * without a time limit (see the file comment).
 */
function unfinished(plan: DkimPlan, state: DkimState, comment: string): DkimOutcome {
  const c = new Collected(state.results);
  for (const s of plan.verified) {
    if (c.has(s)) continue;
    if (!s.wellFormed) c.add(s, 'permerror', 'malformed or unsupported signature');
    else if (!state.started || state.pendingKeys.has(s.keyName)) c.add(s, 'temperror', comment);
    else c.add(s, 'neutral', 'not verified: time limit');
  }
  const { signatures, passing, temperrorDomains } = c;
  signatures.push(...plan.notVerified);
  return { state: 'timeout', signatures, passing, temperrorDomains, arcUnverifiable: plan.arcUnverifiable };
}

/** mailauth failed on this input: it would fail again, so permanent. */
function failed(plan: DkimPlan, comment: string): DkimOutcome {
  return {
    state: 'error',
    signatures: [...plan.verified.map((s) => signatureResult(s, 'permerror', comment)), ...plan.notVerified],
    passing: [],
    temperrorDomains: [],
    arcUnverifiable: plan.arcUnverifiable,
  };
}

/**
 * The outcome when evaluateDkim did not answer: out of time (`timedOut`), or
 * it rejected. Answers from `progress`, as evaluateDkim's own error path does.
 */
export function dkimNotFinished(raw: Buffer, scan: HeaderScan, progress: DkimProgress, timedOut: boolean): DkimOutcome {
  const plan = progress.plan ?? planVerification(raw, scan);
  return timedOut ? unfinished(plan, progress.frozen ?? stateOf(progress), 'verification timed out') : failed(plan, 'verification failed');
}

/** mailauth's dkimVerify(), keeping hold of the verifier: its results so far are `progress.results`. */
function runVerifier(input: Readable, resolver: MailauthResolver, sender: string, progress: DkimProgress): Promise<DkimVerifier> {
  const verifier = new DkimVerifier({ resolver, sender });
  progress.results = verifier.results;
  return new Promise((resolve, reject) => {
    input.on('error', reject);
    verifier.on('error', reject);
    verifier.on('finish', () => resolve(verifier));
    input.pipe(verifier);
  });
}

/** The resolver, noting which key records (RFC 6376 3.6.2.1) are being looked up. */
function trackKeyLookups(resolver: MailauthResolver, progress: DkimProgress): MailauthResolver {
  return async (name, rrtype) => {
    if (rrtype !== 'TXT' || !/\._domainkey\./i.test(name)) return resolver(name, rrtype);
    const key = name.replace(/\.$/, '').toLowerCase();
    progress.keyLookups++;
    progress.pendingKeys.set(key, (progress.pendingKeys.get(key) ?? 0) + 1);
    try {
      return await resolver(name, rrtype);
    } finally {
      const left = (progress.pendingKeys.get(key) ?? 1) - 1;
      if (left > 0) progress.pendingKeys.set(key, left);
      else progress.pendingKeys.delete(key);
    }
  };
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

/**
 * @param unverifiable why mailauth must not see this header section at all
 *   (too large, a From field its address parser would choke on)
 * @param sender MAIL FROM, so that mailauth does not parse Return-Path fields
 * @param progress filled in as verification goes, for dkimNotFinished
 */
export async function evaluateDkim(
  input: MessageInput,
  scan: HeaderScan,
  unverifiable: string | undefined,
  sender: string,
  resolver: MailauthResolver,
  deadline: Deadline,
  progress: DkimProgress,
): Promise<DkimOutcome> {
  const raw = input.head;

  if (unverifiable) {
    const comment = `${unverifiable}: not verified`;
    const infos = dkimSignatureInfos(raw, scan);
    return {
      state: 'skipped',
      signatures: infos.length
        ? infos.map((s) => signatureResult(s, 'permerror', comment))
        : [{ domain: '', selector: '', result: 'permerror', comment }],
      passing: [],
      temperrorDomains: [],
      arcUnverifiable: scan.fields.some((f) => f.name.startsWith('arc-')) ? comment : undefined,
    };
  }

  const plan = planVerification(raw, scan);
  progress.plan = plan;
  const freeze = (): void => {
    progress.frozen ??= stateOf(progress);
  };
  if (deadline.expired) freeze();
  else deadline.controller.signal.addEventListener('abort', freeze, { once: true });

  const segments: Array<[number, number]> = [];
  let from = 0;
  for (const f of scan.fields) {
    if (!plan.dropped.has(f)) continue;
    if (f.start > from) segments.push([from, f.start]);
    from = f.end;
  }
  if (input.size > from) segments.push([from, input.size]);

  let verifier: DkimVerifier;
  const stopped: { stop?: StreamStop } = {};
  try {
    const stream = segmentStream(input.pieces(), segments, deadline.controller.signal, stopped);
    verifier = await runVerifier(stream, trackKeyLookups(resolver, progress), sender, progress);
  } catch {
    // Out of time, or the message could not be read: temporary, for the
    // signatures still pending. mailauth failing on this input, or a body we
    // do not hand it (line too long): it would fail again, so permanent (and
    // an attacker cannot turn it into a DMARC temperror, see evaluateDmarc).
    if (deadline.expired || stopped.stop?.temporary === true) {
      const comment = deadline.expired ? 'verification timed out' : (stopped.stop?.comment ?? 'verification failed');
      return unfinished(plan, progress.frozen ?? stateOf(progress), comment);
    }
    return failed(plan, stopped.stop?.comment ?? 'verification failed');
  }

  // Out of time while it waited for a key: what it did after (with lookups
  // failing at once) does not count, the answer is the time-out fallback's.
  if (progress.frozen) return unfinished(plan, progress.frozen, 'verification timed out');

  const c = new Collected(verifier.results);
  // mailauth silently skips signatures it cannot parse (unknown a=, c=, no d=
  // or s=): RFC 6376 6.1.1 PERMFAIL, reported rather than hidden.
  for (const s of plan.verified) {
    if (!c.has(s)) c.add(s, 'permerror', 'malformed or unsupported signature');
  }
  const { signatures, passing, temperrorDomains } = c;
  signatures.push(...plan.notVerified);

  return { state: 'ok', signatures, passing, temperrorDomains, arcData: verifier.arc, arcUnverifiable: plan.arcUnverifiable };
}
