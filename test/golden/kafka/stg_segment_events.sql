CREATE MATERIALIZED VIEW "analytics"."stg_segment_events"
  IN CLUSTER "analytics_cluster" AS
WITH received AS (
  SELECT body FROM "segment"."segment_source"
  UNION ALL
  SELECT body FROM "analytics"."segment_events_json"
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
