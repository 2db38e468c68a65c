---
kind: materialized_view
cluster: webhooks_cluster
description: Every Segment event exactly once. Segment delivers at least once, so retries repeat a messageId; the first received copy wins.
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
