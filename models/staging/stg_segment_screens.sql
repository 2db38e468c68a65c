---
description: Screen calls (mobile apps), with the screen name and properties
---
SELECT
  {{> segment_common_columns}}
  e.body->>'name' AS name,
  e.body->>'category' AS category,
  e.body->'properties' AS properties
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'screen'
