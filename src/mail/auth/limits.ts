/**
 * The bounds on the work inbound message authentication does for one message
 * (time, header section handed to mailauth, DKIM signatures and body hashes,
 * From field size): see the contract in src/mail/auth/authenticate.ts.
 */

export const DEFAULT_AUTH_TIMEOUT_MS = 30_000;
/**
 * Shares of the time limit: SPF and DKIM must be done by the first, ARC by
 * the second, so that DMARC (RFC 7489), which decides, always has the rest
 * for its own lookups; a sender whose DNS never answers cannot make it
 * answer "not evaluated".
 */
export const AUTH_CHECKS_SHARE = 0.5;
export const AUTH_ARC_SHARE = 0.65;
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
