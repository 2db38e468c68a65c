EXECUTE UNIT TEST events_per_minute_window_edges
FOR materialize.analytics.events_per_minute
AT TIME '2026-11-22 12:00:00'
MOCK materialize.analytics.stg_segment_events(message_id text, event_type text, user_id text, anonymous_id text, received_at timestamp, event_timestamp timestamp, body jsonb) AS (
  SELECT message_id, event_type, user_id, NULL::text, received_at, NULL::timestamp, '{}'::jsonb FROM (VALUES
    ('m1', 'track', 'u1', '2026-11-22 10:59:59.999'::timestamp),  -- just out of the window
    ('m2', 'track', 'u1', '2026-11-22 11:00:00'::timestamp),      -- the edge: mz_now() <= received_at + 60 minutes
    ('m3', 'track', 'u2', '2026-11-22 11:00:30'::timestamp),
    ('m4', 'page', 'u1', '2026-11-22 11:59:00'::timestamp),
    ('m5', 'delete', 'u3', '2026-11-22 11:30:00'::timestamp),     -- delete calls are not events here
    ('m6', 'track', 'u3', '2026-11-22 11:30:00'::timestamp)       -- nor are the deleted user's events
  ) AS v(message_id, event_type, user_id, received_at)
),
MOCK materialize.analytics.stg_segment_deletes(user_id text, message_id text, requested_at timestamp) AS (
  SELECT 'u3', 'm5', '2026-11-22 11:30:00'::timestamp
)
EXPECTED(minute timestamp, event_type text, events bigint) AS (
  SELECT * FROM (VALUES
    ('2026-11-22 11:00'::timestamp, 'track', 2::bigint),
    ('2026-11-22 11:59'::timestamp, 'page', 1::bigint)
  ) AS v
);
