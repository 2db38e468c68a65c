---
description: The latest identify traits of every known user
indexes:
  - columns: [user_id]
tests:
  - unique: user_id
---
SELECT DISTINCT ON (e.user_id)
  e.user_id,
  e.email,
  e.name,
  e.first_name,
  e.last_name,
  e.phone,
  e.company_name,
  e.created_at,
  e.traits,
  coalesce(e.event_timestamp, e.received_at) AS updated_at
FROM {{ref.stg_segment_identifies}} AS e
WHERE e.user_id IS NOT NULL
  AND {{> not_deleted_user}}
ORDER BY e.user_id, coalesce(e.event_timestamp, e.received_at) DESC NULLS LAST, e.message_id
