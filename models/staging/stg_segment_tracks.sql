---
description: Track calls, one row per event, with the Spec's common fields and track properties
tests:
  - not_null: event
---
SELECT
  {{> segment_common_columns}}
  e.body->>'event' AS event,
  CASE WHEN jsonb_typeof(e.body->'properties'->'revenue') = 'number' THEN (e.body->'properties'->>'revenue')::numeric END AS revenue,
  CASE WHEN jsonb_typeof(e.body->'properties'->'value') = 'number' THEN (e.body->'properties'->>'value')::numeric END AS value,
  e.body->'properties'->>'currency' AS currency,
  e.body->'properties' AS properties
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'track'
