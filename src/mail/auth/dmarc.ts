/**
 * DMARC (RFC 7489) for each RFC5322.From domain with mailauth, from the SPF,
 * DKIM and ARC outcomes: the per-domain verdicts (temperror instead of fail
 * when an identifier that would have aligned had a temporary error), the
 * combined verdict for several From domains, and the policy to apply after
 * the pct= sample.
 */
import { dmarc as mailauthDmarc, type DMARCResult } from 'mailauth';
import type { ArcOutcome } from './arc.ts';
import type { DkimOutcome } from './dkim.ts';
import type { FromInfo } from './from-domains.ts';
import type { MailauthResolver } from './guarded-resolver.ts';
import type { Clause } from './result-fields.ts';
import type { SpfOutcome } from './spf.ts';
import type { DmarcPolicy, DmarcResult, DmarcVerdict } from './types.ts';

export interface DmarcOutcome {
  verdict: DmarcVerdict;
  /** One clause per From domain evaluated. */
  clauses: Clause[];
  /** Effective policy after pct= sampling, for a failing verdict. */
  applied?: DmarcPolicy;
}

/**
 * DMARC not evaluated (no usable RFC5322.From, time limit, internal error):
 * one clause, about `domain` when it is known.
 */
export function dmarcNotEvaluated(result: 'temperror' | 'permerror', comment: string, domain?: string): DmarcOutcome {
  return {
    verdict: { result, policy: undefined, ...(domain ? { domain } : {}) },
    clauses: [{ method: 'dmarc', result, comment, props: domain ? [['header.from', domain]] : [] }],
  };
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

export async function evaluateDmarc(
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
    return { ...dmarcNotEvaluated('permerror', unusual), applied: 'quarantine' };
  }
  if (domains.length === 0) return dmarcNotEvaluated('permerror', 'no RFC5322.From domain');

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
