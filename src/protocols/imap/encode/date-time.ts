/**
 * date-time (RFC 9051 9) for INTERNALDATE:
 *   date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
 * always in UTC ("+0000"), the day space-padded.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const two = (n: number): string => String(n).padStart(2, '0');

export function encodeDateTime(d: Date): string {
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `"${day}-${MONTHS[d.getUTCMonth()]!}-${d.getUTCFullYear()} ${time} +0000"`;
}
