/**
 * DKIM (RFC 6376) verification of a message's DKIM-Signature fields with
 * mailauth, within the limits of limits.ts: which signatures (and ARC sets)
 * mailauth gets to see, the message streamed to it without the others, and
 * mailauth's results mapped to RFC 8601 2.7.1 results, with the signatures it
 * skipped silently reported. Its pass of the ARC headers feeds arc.ts.
 */
import { dkimVerify, type ARCData, type DKIMResult, type DKIMVerifyResult } from 'mailauth';
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
  /** Domains whose verification hit a temporary error (or did not finish). */
  temperrorDomains: string[];
  arcData?: ARCData;
  /** ARC headers present but not handed to mailauth (too large): chain fails. */
  arcUnverifiable?: string;
}

function signatureResult(s: SignatureInfo, result: DkimResult, comment: string): DkimSignatureResult {
  return { domain: s.domain, selector: s.selector, result, comment };
}

/**
 * Verification did not finish: temperror when out of time or the message
 * could not be read (a later attempt might pass), permerror otherwise.
 */
function unfinished(infos: SignatureInfo[], timedOut: boolean, comment: string): DkimOutcome {
  return {
    state: timedOut ? 'timeout' : 'error',
    signatures: infos.map((s) => signatureResult(s, timedOut ? 'temperror' : 'permerror', comment)),
    passing: [],
    temperrorDomains: timedOut ? infos.map((s) => s.domain).filter((d) => d) : [],
  };
}

/** The outcome when evaluateDkim did not answer: out of time (`timedOut`), or it rejected. */
export function dkimNotFinished(raw: Buffer, scan: HeaderScan, timedOut: boolean): DkimOutcome {
  return unfinished(dkimSignatureInfos(raw, scan), timedOut, timedOut ? 'verification timed out' : 'verification failed');
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
 */
export async function evaluateDkim(
  input: MessageInput,
  scan: HeaderScan,
  unverifiable: string | undefined,
  sender: string,
  resolver: MailauthResolver,
  deadline: Deadline,
): Promise<DkimOutcome> {
  const raw = input.head;
  const infos = dkimSignatureInfos(raw, scan);
  const arcFields = scan.fields.filter((f) => f.name.startsWith('arc-'));

  if (unverifiable) {
    const comment = `${unverifiable}: not verified`;
    return {
      state: 'skipped',
      signatures: infos.length
        ? infos.map((s) => signatureResult(s, 'permerror', comment))
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
      notVerified.push(signatureResult(s, 'permerror', 'too many signed header fields'));
    } else if (verified >= MAX_DKIM_SIGNATURES || (!bodyHashes.has(s.bodyHashKey) && bodyHashes.size >= MAX_BODY_HASHES)) {
      dropped.add(s.field);
      notVerified.push(signatureResult(s, 'neutral', 'not verified: too many signatures'));
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
    const outcome = unfinished(verifiedInfos, timedOut, comment);
    return { ...outcome, signatures: [...outcome.signatures, ...notVerified], arcUnverifiable };
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
    signatures.push(signatureResult(s, 'permerror', 'malformed or unsupported signature'));
  }
  signatures.push(...notVerified);

  return { state: 'ok', signatures, passing, temperrorDomains, arcData: res.arc as ARCData | undefined, arcUnverifiable };
}
