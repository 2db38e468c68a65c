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
ORDER BY body->>'messageId', try_parse_monotonic_iso8601_timestamp(body->>'receivedAt') NULLS LAST
