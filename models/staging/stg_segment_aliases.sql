---
description: Alias calls, merging a previous identity (previous_id) into user_id
tests:
  - not_null: [previous_id, user_id]
---
SELECT
  {{> segment_common_columns}}
  e.body->>'previousId' AS previous_id
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'alias'
