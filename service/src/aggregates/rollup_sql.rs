//! The statement that reads the order rollups (`rollups::read` fills its
//! placeholders and binds its arrays): probes of the primary key and of the
//! time-of-day index, the ends read whole from `orders`, and the extent in
//! the same snapshot.

/// The rows (a bucket and status each, its shards summed) of each run of
/// consecutive rollup buckets, and each range read whole per part and
/// status; a bucket as its start in seconds, a status as its position in
/// `$4` (0: none of them).
///
/// - Each run is probed through `LATERAL … OFFSET 0`, which keeps the
///   subquery from being flattened into a join: a join over arrays of
///   unknown size may otherwise be planned as a scan of the whole table.
/// - The list goes through `order_rollup_opaque` (ninth migration), so
///   that the statement keeps its generic plan.
/// - `{status}` is empty when every status is wanted: one index range per
///   bucket instead of one per status. Statuses are summed in the statement
///   when the answer is not grouped by them (`{status_of}` 0: a quarter of
///   the rows).
/// - The rows come back as one row of six integer arrays, a column each:
///   decoding 800 rows of six values one by one was half of a 90-day
///   grouping's instructions.
pub(super) const READ: &str = "
  SELECT COALESCE(array_agg(z.k), '{}'), COALESCE(array_agg(z.grain), '{}'),
         COALESCE(array_agg(z.bucket), '{}'), COALESCE(array_agg(z.status), '{}'),
         COALESCE(array_agg(z.n), '{}'), COALESCE(array_agg(z.t), '{}')
  FROM (
    SELECT -1 AS k, p.grain AS grain, date_part('epoch', x.bucket)::bigint AS bucket,
           x.status AS status,
           x.order_count AS n, x.total_cents AS t
    FROM unnest(order_rollup_opaque($1::smallint[]), $2::timestamptz[], $3::timestamptz[])
      AS p(grain, lo, hi)
    CROSS JOIN LATERAL (
      SELECT r.bucket, {status_of} AS status, SUM(r.order_count)::BIGINT AS order_count,
             SUM(r.total_cents)::BIGINT AS total_cents
      FROM order_rollups r
      WHERE r.grain = p.grain AND r.bucket >= p.lo AND r.bucket <= p.hi{status}
      GROUP BY r.bucket{by_status}
      OFFSET 0
    ) x{daily}{raw}{extent}
  ) z";

/// The buckets at one UTC time of day on consecutive days (see
/// `probes`): a range of the time-of-day index each.
pub(super) const DAILY: &str = "
    UNION ALL
    SELECT -1, d.grain, date_part('epoch', x.bucket)::bigint, x.status, x.order_count, x.total_cents
    FROM unnest(order_rollup_opaque({g}::smallint[]), {tod}::int[], {lo}::timestamptz[], {hi}::timestamptz[])
      AS d(grain, tod, lo, hi)
    CROSS JOIN LATERAL (
      SELECT r.bucket, {status_of} AS status, SUM(r.order_count)::BIGINT AS order_count,
             SUM(r.total_cents)::BIGINT AS total_cents
      FROM order_rollups r
      WHERE r.grain = d.grain AND order_rollup_time_of_day(r.bucket) = d.tod
        AND r.bucket >= d.lo AND r.bucket <= d.hi{status}
      GROUP BY r.bucket{by_status}
      OFFSET 0
    ) x";

/// The ends read whole from `orders` (parts `k` ≥ 0) when there are more
/// than two (a zone whose offset is off the quarter-hour, before 1900):
/// ranges of the `created_at` index. PostgreSQL plans a generic `LATERAL`
/// probe of `orders` at 5,000 rows a range and a custom one knows the list
/// is short, so this statement is planned again at every execution (0.45
/// ms for a 90-day grouping); it is left out when there are no such ends.
pub(super) const RAW: &str = "
    UNION ALL
    SELECT e.k, -1::smallint, 0::bigint, COALESCE(array_position($4::text[], y.status::text), 0),
           SUM(y.n)::BIGINT, SUM(y.t)::BIGINT
    FROM unnest($5::int[], $6::timestamptz[], $7::timestamptz[]) AS e(k, lo, hi)
    CROSS JOIN LATERAL (
      SELECT o.status, COUNT(*) AS n, SUM(o.total_cents) AS t FROM orders o
      WHERE o.created_at >= e.lo AND o.created_at < e.hi AND o.status = ANY($4::text[])
      GROUP BY o.status
    ) y
    GROUP BY 1, 2, 3, 4";

/// The data's extent in the read's own snapshot: parts -2 (first) and -3
/// (last creation instant), in microseconds; no rows without orders.
pub(super) const EXTENT_AGAIN: &str = "
    UNION ALL SELECT -2, -1::smallint, (EXTRACT(EPOCH FROM MIN(created_at)) * 1000000)::bigint,
                     0, 0::bigint, 0::bigint FROM orders HAVING MIN(created_at) IS NOT NULL
    UNION ALL SELECT -3, -1::smallint, (EXTRACT(EPOCH FROM MAX(created_at)) * 1000000)::bigint,
                     0, 0::bigint, 0::bigint FROM orders HAVING MAX(created_at) IS NOT NULL";

/// One end read whole from `orders` (a range's start or end off the
/// quarter-hour; `{k}`, `{lo}` and `{hi}` become its part, from and until):
/// a statement with one or two ends holds two of these. The bounds and
/// statuses go through sub-selects: estimated alike with or without their
/// values, so that the statement keeps its generic plan.
pub(super) const RAW_END: &str = "
    UNION ALL
    SELECT {k}::int, -1::smallint, 0::bigint,
           COALESCE(array_position($4::text[], o.status::text), 0), COUNT(*), SUM(o.total_cents)::BIGINT
    FROM orders o
    WHERE o.created_at >= (SELECT {lo}::timestamptz) AND o.created_at < (SELECT {hi}::timestamptz)
      AND o.status = ANY((SELECT $4::text[])::text[])
    GROUP BY o.status";
