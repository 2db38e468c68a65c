---
description: How often each track event happened, by how many people, and when last
indexes:
  - columns: [event]
tests:
  - unique: event
---
SELECT
  e.event,
  count(*) AS events,
  count(DISTINCT coalesce(e.user_id, e.anonymous_id)) AS people,
  max(coalesce(e.event_timestamp, e.received_at)) AS last_seen_at
FROM {{ref.stg_segment_tracks}} AS e
WHERE e.event IS NOT NULL
  AND {{> not_deleted_user}}
GROUP BY 1
