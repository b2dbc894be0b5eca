/**
 * mailauth's DKIM verifier (the Writable its dkimVerify() pipes the message
 * into), declared with only what dkim.ts uses: dkim.ts runs it itself so that
 * the results of the signatures it has finished are known when time runs out.
 */
declare module 'mailauth/lib/dkim/dkim-verifier.js' {
  import type { Writable } from 'node:stream';
  import type { ARCData, DKIMResult, DNSResolver } from 'mailauth';

  export class DkimVerifier extends Writable {
    constructor(options: { resolver?: DNSResolver; sender?: string });
    /**
     * One result per DKIM-Signature verified so far, in the order verified
     * (from the top); a "message not signed" placeholder once finished
     * without any.
     */
    readonly results: Array<DKIMResult & { signature?: string }>;
    /** The ARC sets, for mailauth's arc(). */
    readonly arc: ARCData | undefined;
  }
}
