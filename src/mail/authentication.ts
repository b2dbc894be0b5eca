/**
 * Inbound message authentication, the public API: SPF (RFC 7208), DKIM
 * (RFC 6376), ARC (RFC 8617) and DMARC (RFC 7489) with mailauth, reported in
 * Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 9.1) fields,
 * and the removal of forged Authentication-Results (RFC 8601 5).
 *
 * The code lives in src/mail/auth/:
 *   authenticate.ts      authenticateMessage: the steps under one deadline,
 *                        the result; its contract (never throws, bounded time,
 *                        work and memory) is in its file comment
 *   types.ts, limits.ts  the public types and bounds
 *   spf.ts, dkim.ts, dkim-signature.ts, arc.ts, dmarc.ts, from-domains.ts
 *                        one method each (with mailauth)
 *   mailauth-verifier.d.ts  mailauth's DKIM verifier class, which dkim.ts
 *                        runs itself (its results so far count when time
 *                        runs out)
 *   result-fields.ts     Authentication-Results and Received-SPF formatting
 *   forged-results.ts    removeForgedAuthResults, forgedAuthResultsEdit
 *   header-scan.ts       the linear header-section scan they all share
 *   deadline.ts, guarded-resolver.ts  the time limit, the resolver mailauth gets
 */
export { authenticateMessage } from './auth/authenticate.ts';
export { authservIdOf, forgedAuthResultsEdit, removeForgedAuthResults, type HeadEdit } from './auth/forged-results.ts';
export {
  DEFAULT_AUTH_TIMEOUT_MS,
  MAX_AUTH_HEADER_BYTES,
  MAX_AUTH_HEADER_LINES,
  MAX_BODY_HASHES,
  MAX_DKIM_SIGNATURES,
  MAX_FROM_DOMAINS,
  MAX_FROM_FIELD_BYTES,
  MAX_SIGNED_HEADER_FIELDS,
} from './auth/limits.ts';
export type {
  ArcResult,
  AuthenticateOptions,
  DkimResult,
  DkimSignatureResult,
  DmarcPolicy,
  DmarcResult,
  DmarcVerdict,
  InboundAction,
  InboundAuthResult,
  SpfResult,
} from './auth/types.ts';
export { MAX_BODY_LINE_BYTES, type MessageSource } from './message-stream.ts';
