---
kind: materialized_view
description: Every Segment event exactly once. Segment delivers at least once, so retries repeat a messageId; the first received copy wins.
tests:
  # Dedup holds: one row per messageId however often Segment retried the delivery.
  - unique: message_id
  - not_null: [event_type, received_at]
  - accepted_values:
      column: event_type
      values: [track, page, screen, identify, group, alias, delete]
      name: known_event_types
  # The Spec: every call names someone, by userId or anonymousId.
  - expression:
      expression: user_id IS NOT NULL OR anonymous_id IS NOT NULL
      name: events_name_someone
  # A timestamp that is present but does not parse would silently fall back to received_at.
  - expression:
      expression: "body->>'timestamp' IS NULL OR event_timestamp IS NOT NULL"
      name: timestamps_parse_where_present
---
WITH received AS (
  SELECT body FROM {{ref.segment_source}}
  {{#vars.kafka_enabled}}
  UNION ALL
  SELECT body FROM {{ref.segment_events_json}}
  {{/vars.kafka_enabled}}
)
SELECT DISTINCT ON (body->>'messageId')
  body->>'messageId' AS message_id,
  body->>'type' AS event_type,
  body->>'userId' AS user_id,
  body->>'anonymousId' AS anonymous_id,
  try_parse_monotonic_iso8601_timestamp(body->>'receivedAt') AS received_at,
  try_parse_monotonic_iso8601_timestamp(body->>'timestamp') AS event_timestamp,
  body
FROM received
WHERE body->>'messageId' IS NOT NULL
ORDER BY body->>'messageId', try_parse_monotonic_iso8601_timestamp(body->>'receivedAt') NULLS LAST;

-- Unit tests (mz-deploy's EXECUTE UNIT TEST; `npm run models:test -- --select kind:unit`). They are
-- never deployed: models:test runs them on the local server against the mocked rows.

-- Segment delivers at least once: a retried messageId keeps its first received copy, whatever
-- order the copies arrive in; an event without a messageId is dropped.
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
