/**
 * The RFC5322.From domains DMARC is evaluated for (RFC 7489 3.1, 6.6.1), from
 * our own bounded parse of the From fields, so that they are known even when
 * the header section is not handed to mailauth; a From field too long or
 * with too many domains is reported as unusual instead.
 */
import { addressParser } from 'postal-mime';
import { fieldBytes, fieldValue, type RawField } from './header-scan.ts';
import { MAX_FROM_DOMAINS, MAX_FROM_FIELD_BYTES } from './limits.ts';

export interface FromInfo {
  /** RFC5322.From domains (RFC 7489 3.1), lower case, distinct, in order. */
  domains: string[];
  /** Set when the From field is too odd to evaluate (too long, too many domains). */
  unusual?: string;
}

/** The RFC5322.From domains, from our own bounded parse (RFC 7489 6.6.1). */
export function fromInfo(raw: Buffer, fields: RawField[]): FromInfo {
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
