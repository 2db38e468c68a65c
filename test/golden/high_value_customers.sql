CREATE MATERIALIZED VIEW "analytics"."high_value_customers"
  IN CLUSTER "analytics_cluster" AS
-- "High value" from what the seed's traffic (and Segment's e-commerce spec) sends: Order Completed
-- carries the order's revenue; Order Refunded and Order Cancelled take it back. Their revenue is
-- counted negative whatever its sign (the seed sends it negative, other sources positive).
SELECT
  e.user_id,
  true AS high_value_customer,
  sum(CASE WHEN e.event = 'Order Completed' THEN abs(e.revenue) ELSE -abs(e.revenue) END) AS lifetime_value,
  count(*) FILTER (WHERE e.event = 'Order Completed') AS orders_completed,
  count(*) FILTER (WHERE e.event <> 'Order Completed') AS orders_refunded,
  max(coalesce(e.event_timestamp, e.received_at)) FILTER (WHERE e.event = 'Order Completed') AS last_order_at
FROM "analytics"."stg_segment_tracks" AS e
WHERE e.event IN ('Order Completed', 'Order Refunded', 'Order Cancelled')
  AND e.user_id IS NOT NULL
  AND e.revenue IS NOT NULL
  AND NOT EXISTS (
        SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted
        WHERE deleted.user_id = e.user_id
      )
GROUP BY e.user_id
HAVING sum(CASE WHEN e.event = 'Order Completed' THEN abs(e.revenue) ELSE -abs(e.revenue) END) >= 250;
