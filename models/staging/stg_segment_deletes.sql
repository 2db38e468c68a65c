---
description: Users whose data must go (Segment delete requests, onDelete); the marts leave them out
---
SELECT DISTINCT ON (e.user_id)
  e.user_id,
  e.message_id,
  coalesce(e.event_timestamp, e.received_at) AS requested_at
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'delete' AND e.user_id IS NOT NULL
ORDER BY e.user_id, coalesce(e.event_timestamp, e.received_at)
