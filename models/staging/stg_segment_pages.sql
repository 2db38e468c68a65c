---
description: Page calls, with the Spec's page properties
---
SELECT
  {{> segment_common_columns}}
  e.body->>'name' AS name,
  e.body->>'category' AS category,
  e.body->'properties'->>'path' AS path,
  e.body->'properties'->>'referrer' AS referrer,
  e.body->'properties'->>'search' AS search,
  e.body->'properties'->>'title' AS title,
  e.body->'properties'->>'url' AS url,
  e.body->'properties'->>'keywords' AS keywords,
  e.body->'properties' AS properties
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'page'
