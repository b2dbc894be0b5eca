/**
 * authenticateMessage: inbound message authentication, SPF (RFC 7208), DKIM
 * (RFC 6376), ARC (RFC 8617) and DMARC (RFC 7489), evaluated with mailauth,
 * reported in an Authentication-Results header field (RFC 8601) and a
 * Received-SPF header field (RFC 7208 9.1), and summed up as the DMARC
 * verdict the SMTP session acts on: accept, quarantine (deliver to Junk) or
 * reject (550 5.7.1). This file runs the steps (spf.ts, dkim.ts, arc.ts,
 * dmarc.ts) under one deadline and assembles the result.
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
 *   - The time limit is shared out (limits.ts): SPF and DKIM must be done by
 *     half of it, ARC a little later, so that DMARC always has time of its
 *     own: a sender whose DNS never answers (an attacker's signing or MAIL
 *     FROM domain) cannot leave the DMARC policy unevaluated.
 *   - DMARC temperror instead of fail when an identifier that would have
 *     aligned had a temporary error (DNS, or our time limit): a retry might
 *     pass (RFC 7489 6.6.2). A temporary error of a non-aligned identifier
 *     changes nothing. Out of time, only a DKIM signature whose verification
 *     was genuinely pending counts (dkim.ts): not one over the limits, one
 *     that already failed, or one that waited behind another's key lookup.
 *
 * The caller adds `header` on top of the message (RFC 8601 5, RFC 7208 9.1)
 * and should first drop forged results with removeForgedAuthResults, or
 * forgedAuthResultsEdit for a message known by its head (forged-results.ts;
 * the verification itself runs on the message as received).
 */
import { messageInput, type MessageSource } from '../message-stream.ts';
import { evaluateArc, type ArcOutcome } from './arc.ts';
import { Deadline } from './deadline.ts';
import { dkimNotFinished, dkimProgress, evaluateDkim, type DkimOutcome } from './dkim.ts';
import { dmarcNotEvaluated, evaluateDmarc, type DmarcOutcome } from './dmarc.ts';
import { fromInfo } from './from-domains.ts';
import { guardResolver } from './guarded-resolver.ts';
import { fieldBytes, scanHeader } from './header-scan.ts';
import {
  AUTH_ARC_SHARE,
  AUTH_CHECKS_SHARE,
  DEFAULT_AUTH_TIMEOUT_MS,
  MAX_AUTH_HEADER_BYTES,
  MAX_AUTH_HEADER_LINES,
  MAX_FROM_FIELD_BYTES,
} from './limits.ts';
import { arcClause, dkimClauses, formatAuthenticationResults, formatReceivedSpf, spfClause } from './result-fields.ts';
import { evaluateSpf, spfTemperror, spfTimedOut, type SpfOutcome } from './spf.ts';
import type { AuthenticateOptions, InboundAction, InboundAuthResult } from './types.ts';

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
    const dkim: DkimOutcome = { state: 'error', signatures: [], passing: [], temperrorDomains: [] };
    return assemble(opts, spfTemperror(comment, helo), dkim, { result: 'none' }, dmarcNotEvaluated('temperror', comment));
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
  const deadlines: Deadline[] = [];
  try {
    const requested = opts.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    // setTimeout fires at once for more than 2^31-1 ms; ten minutes is plenty.
    const timeoutMs = Number.isFinite(requested) && requested > 0 ? Math.min(requested, 600_000) : DEFAULT_AUTH_TIMEOUT_MS;
    // One deadline per stage (limits.ts): SPF and DKIM, then ARC, then DMARC,
    // each with a resolver that gives up at its stage's end.
    const checks = new Deadline(Math.floor(timeoutMs * AUTH_CHECKS_SHARE));
    const arcStage = new Deadline(Math.floor(timeoutMs * AUTH_ARC_SHARE));
    const d = new Deadline(timeoutMs);
    deadlines.push(checks, arcStage, d);
    const input = messageInput(raw);
    const message = input.head;
    const checksResolver = guardResolver(opts.resolver, checks);
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

    const progress = dkimProgress();
    const [spf, dkim] = await Promise.all([
      checks.race(
        evaluateSpf(opts, checksResolver),
        () => spfTimedOut(opts),
        () => spfTemperror('SPF evaluation failed', opts.helo),
      ),
      checks.race(
        evaluateDkim(input, scan, unverifiable, sender, checksResolver, checks, progress),
        () => dkimNotFinished(message, scan, progress, true),
        () => dkimNotFinished(message, scan, progress, false),
      ),
    ]);
    const arc = await arcStage.race(
      evaluateArc(dkim, guardResolver(opts.resolver, arcStage)),
      (): ArcOutcome => ({ result: 'none', comment: 'not evaluated: time limit' }),
      (): ArcOutcome => ({ result: 'fail', comment: 'ARC evaluation failed' }),
    );
    const dmarc = await d.race(
      evaluateDmarc(from, spf, dkim, arc, resolver, random),
      () => dmarcNotEvaluated('temperror', 'DMARC evaluation timed out', domains[0]),
      () => dmarcNotEvaluated('temperror', 'DMARC evaluation failed', domains[0]),
    );
    return assemble(opts, spf, dkim, arc, dmarc);
  } catch {
    return failSafe(opts, 'internal error');
  } finally {
    for (const deadline of deadlines) {
      deadline.controller.abort();
      deadline.dispose();
    }
  }
}
