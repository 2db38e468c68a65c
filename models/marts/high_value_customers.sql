---
description: >
  People who became high-value customers: net order revenue of at least
  vars.high_value_min_revenue (completed orders minus refunded and cancelled ones), with their
  computed traits. Activated back to Segment by activations/high_value_customers.yml; a refund
  that brings someone under the line, or a delete request, takes them out (and out of the audience).
indexes:
  - columns: [user_id]
tests:
  - unique: user_id
---
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
FROM {{ref.stg_segment_tracks}} AS e
WHERE e.event IN ('Order Completed', 'Order Refunded', 'Order Cancelled')
  AND e.user_id IS NOT NULL
  AND e.revenue IS NOT NULL
  AND {{> not_deleted_user}}
GROUP BY e.user_id
HAVING sum(CASE WHEN e.event = 'Order Completed' THEN abs(e.revenue) ELSE -abs(e.revenue) END) >= {{vars.high_value_min_revenue}};

-- Unit test (mz-deploy's syntax; never deployed): the line is net revenue, so a refund takes a
-- customer out; a deleted user is out whatever they spent; other events do not count.
EXECUTE UNIT TEST high_value_customers_net_revenue_and_deletes
FOR {{ref.high_value_customers}}
MOCK {{ref.stg_segment_tracks}}(message_id text, user_id text, event text, revenue numeric, event_timestamp timestamp, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('t1', 'u1', 'Order Completed', 180::numeric, '2026-11-20 10:00'::timestamp, '2026-11-20 10:00'::timestamp),
    ('t2', 'u1', 'Order Completed', 140::numeric, '2026-11-21 10:00'::timestamp, '2026-11-21 10:00'::timestamp),
    ('t3', 'u2', 'Order Completed', 300::numeric, '2026-11-20 11:00'::timestamp, '2026-11-20 11:00'::timestamp),
    ('t4', 'u2', 'Order Refunded', -180::numeric, '2026-11-22 11:00'::timestamp, '2026-11-22 11:00'::timestamp),
    ('t5', 'u3', 'Order Completed', 500::numeric, '2026-11-20 12:00'::timestamp, '2026-11-20 12:00'::timestamp),
    ('t6', 'u4', 'Checkout Started', 900::numeric, '2026-11-20 12:00'::timestamp, '2026-11-20 12:00'::timestamp)
  ) AS v
),
MOCK {{ref.stg_segment_deletes}}(user_id text, message_id text, requested_at timestamp) AS (
  SELECT 'u3', 'd1', '2026-11-22 12:00'::timestamp
)
EXPECTED(user_id text, high_value_customer boolean, lifetime_value numeric, orders_completed bigint, orders_refunded bigint, last_order_at timestamp) AS (
  SELECT 'u1', true, 320::numeric, 2::bigint, 0::bigint, '2026-11-21 10:00'::timestamp
);
