EXECUTE UNIT TEST high_value_customers_net_revenue_and_deletes
FOR "analytics"."high_value_customers"
MOCK "analytics"."stg_segment_tracks"(message_id text, user_id text, event text, revenue numeric, event_timestamp timestamp, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('t1', 'u1', 'Order Completed', 180::numeric, '2026-11-20 10:00'::timestamp, '2026-11-20 10:00'::timestamp),
    ('t2', 'u1', 'Order Completed', 140::numeric, '2026-11-21 10:00'::timestamp, '2026-11-21 10:00'::timestamp),
    ('t3', 'u2', 'Order Completed', 300::numeric, '2026-11-20 11:00'::timestamp, '2026-11-20 11:00'::timestamp),
    ('t4', 'u2', 'Order Refunded', -180::numeric, '2026-11-22 11:00'::timestamp, '2026-11-22 11:00'::timestamp),
    ('t5', 'u3', 'Order Completed', 500::numeric, '2026-11-20 12:00'::timestamp, '2026-11-20 12:00'::timestamp),
    ('t6', 'u4', 'Checkout Started', 900::numeric, '2026-11-20 12:00'::timestamp, '2026-11-20 12:00'::timestamp)
  ) AS v
),
MOCK "analytics"."stg_segment_deletes"(user_id text, message_id text, requested_at timestamp) AS (
  SELECT 'u3', 'd1', '2026-11-22 12:00'::timestamp
)
EXPECTED(user_id text, high_value_customer boolean, lifetime_value numeric, orders_completed bigint, orders_refunded bigint, last_order_at timestamp) AS (
  SELECT 'u1', true, 320::numeric, 2::bigint, 0::bigint, '2026-11-21 10:00'::timestamp
);
