/** SQL fragments for UID sets, shared by the store's mailbox statements. */

/**
 * SQL aggregating the `uid` column of `source` (a CTE or subquery name) into
 * the compact text form of lib/uid-ranges.ts ("1:500,502"), NULL when empty:
 * consecutive UIDs collapse into one range (gaps and islands: uid minus its
 * row number is constant along a run). A mailbox of 100,000 messages with few
 * gaps comes back as a few dozen characters instead of 100,000 rows.
 */
export function uidRangesAgg(source: string): string {
  return `(SELECT string_agg(CASE WHEN lo = hi THEN lo::text ELSE lo::text || ':' || hi::text END, ',' ORDER BY lo)
             FROM (SELECT min(uid) AS lo, max(uid) AS hi
                     FROM (SELECT uid, uid - row_number() OVER (ORDER BY uid) AS island FROM ${source}) AS numbered
                    GROUP BY island) AS islands)`;
}

/** The join that restricts `alias`.uid to the ranges passed as two bigint arrays ($lo, $hi). */
export function uidRangesJoin(alias: string, lo: string, hi: string): string {
  return `JOIN unnest(${lo}::bigint[], ${hi}::bigint[]) AS r(lo, hi) ON ${alias}.uid BETWEEN r.lo AND r.hi`;
}
