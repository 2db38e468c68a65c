EXECUTE UNIT TEST dedup_keeps_first_received_delivery
FOR materialize.analytics.stg_segment_events
MOCK materialize.segment.segment_source(body jsonb, headers map[text=>text], event_type text) AS (
  SELECT body::jsonb, NULL::map[text=>text], NULL::text FROM (VALUES
    ('{"messageId": "m1", "type": "track", "userId": "u1", "event": "Retry", "receivedAt": "2026-11-20T10:00:05.000Z"}'),
    ('{"messageId": "m1", "type": "track", "userId": "u1", "event": "First", "receivedAt": "2026-11-20T10:00:00.000Z"}'),
    ('{"messageId": "m2", "type": "identify", "anonymousId": "a2", "receivedAt": "2026-11-20T10:01:00.000Z", "timestamp": "2026-11-20T09:59:00.000Z"}'),
    ('{"type": "track", "userId": "u3", "receivedAt": "2026-11-20T10:02:00.000Z"}')
  ) AS v(body)
)
EXPECTED(message_id text, event_type text, user_id text, anonymous_id text, received_at timestamp, event_timestamp timestamp, body jsonb) AS (
  SELECT * FROM (VALUES
    ('m1', 'track', 'u1', NULL, '2026-11-20 10:00:00'::timestamp, NULL::timestamp,
     '{"messageId": "m1", "type": "track", "userId": "u1", "event": "First", "receivedAt": "2026-11-20T10:00:00.000Z"}'::jsonb),
    ('m2', 'identify', NULL, 'a2', '2026-11-20 10:01:00'::timestamp, '2026-11-20 09:59:00'::timestamp,
     '{"messageId": "m2", "type": "identify", "anonymousId": "a2", "receivedAt": "2026-11-20T10:01:00.000Z", "timestamp": "2026-11-20T09:59:00.000Z"}'::jsonb)
  ) AS v
);
