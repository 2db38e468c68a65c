---
description: Events per minute and type over a sliding window (vars.events_window_minutes) of receive time
indexes:
  - columns: [minute]
---
-- A temporal filter: each event counts while mz_now() is within the window after it was
-- received, then Materialize retracts it, so the view stays small however long it runs.
SELECT
  date_trunc('minute', e.received_at) AS minute,
  e.event_type,
  count(*) AS events
FROM {{ref.stg_segment_events}} AS e
WHERE mz_now() <= e.received_at + INTERVAL '{{vars.events_window_minutes}} minutes'
  AND e.event_type <> 'delete'
  AND {{> not_deleted_user}}
GROUP BY 1, 2;

-- Unit test (mz-deploy's syntax; never deployed): at a pinned mz_now(), the window's edge rows
-- stay and older ones are gone; deletes and deleted users are not counted. Assumes the default
-- window, events_window_minutes: 60.
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
