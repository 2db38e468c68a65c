---
description: Distinct people (user id, else anonymous id) active per day of event time
indexes:
  - columns: [day]
tests:
  - unique: day
---
SELECT
  CAST(date_trunc('day', coalesce(e.event_timestamp, e.received_at)) AS date) AS day,
  count(DISTINCT coalesce(e.user_id, e.anonymous_id)) AS active_users,
  count(*) AS events
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type IN ('track', 'page', 'screen', 'identify', 'group')
  AND coalesce(e.user_id, e.anonymous_id) IS NOT NULL
  AND coalesce(e.event_timestamp, e.received_at) IS NOT NULL
  AND {{> not_deleted_user}}
GROUP BY 1
