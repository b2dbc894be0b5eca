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

/**
 * A FROM-list item: the messages of mailbox `mailbox` whose uid lies in the
 * ranges passed as two bigint arrays ($lo, $hi), as `alias` (the messages
 * columns; ranges must not overlap). Each range is one index range scan of
 * (mailbox_id, uid). The LATERAL subquery with OFFSET 0 is on purpose: as a
 * plain join on `uid BETWEEN r.lo AND r.hi`, the generic plan (every
 * connection runs with plan_cache_mode = force_generic_plan, store/postgres.ts)
 * could not see how narrow the ranges are and read the whole mailbox for a
 * STORE of one message.
 */
export function messagesInRanges(alias: string, mailbox: string, lo: string, hi: string): string {
  return `unnest(${lo}::bigint[], ${hi}::bigint[]) AS r(lo, hi)
          CROSS JOIN LATERAL (SELECT * FROM messages WHERE mailbox_id = ${mailbox} AND uid BETWEEN r.lo AND r.hi OFFSET 0) AS ${alias}`;
}
