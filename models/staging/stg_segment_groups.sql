---
description: Group calls, associating a user with an account, with the Spec's reserved group traits
tests:
  - not_null: group_id
---
SELECT
  {{> segment_common_columns}}
  e.body->>'groupId' AS group_id,
  e.body->'traits'->>'name' AS group_name,
  e.body->'traits'->>'industry' AS industry,
  e.body->'traits'->>'plan' AS plan,
  e.body->'traits'->>'website' AS website,
  CASE WHEN jsonb_typeof(e.body->'traits'->'employees') = 'number' THEN (e.body->'traits'->>'employees')::numeric END AS employees,
  e.body->'traits' AS traits
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'group'
