/**
 * ARC (RFC 8617) chain validation with mailauth, from the ARC sets that the
 * DKIM pass (dkim.ts) collected; a chain whose sets were withheld from
 * mailauth (too large) fails.
 */
import { arc as mailauthArc, type ARCResult } from 'mailauth';
import type { DkimOutcome } from './dkim.ts';
import type { MailauthResolver } from './guarded-resolver.ts';
import type { ArcResult } from './types.ts';

export interface ArcOutcome {
  result: ArcResult;
  comment?: string;
  raw?: ARCResult;
}

export async function evaluateArc(dkim: DkimOutcome, resolver: MailauthResolver): Promise<ArcOutcome> {
  if (dkim.arcUnverifiable) return { result: 'fail', comment: dkim.arcUnverifiable };
  if (dkim.state !== 'ok' || !dkim.arcData) return { result: 'none' };
  const res = await mailauthArc(dkim.arcData, { resolver });
  const result: ArcResult = res.status?.result === 'pass' ? 'pass' : res.status?.result === 'fail' ? 'fail' : 'none';
  return { result, comment: typeof res.status?.comment === 'string' ? res.status.comment : undefined, raw: res };
}
