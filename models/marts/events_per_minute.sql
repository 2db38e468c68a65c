---
description: Events per minute and type over a sliding window (vars.events_window_minutes) of receive time
indexes:
  - columns: [minute]
---
-- A temporal filter: each event counts while mz_now() is within the window after it was
-- received, then Materialize retracts it, so the view stays small however long it runs.
SELECT
  date_trunc('minute', e.received_at) AS minute,
  e.event_type,
  count(*) AS events
FROM {{ref.stg_segment_events}} AS e
WHERE mz_now() <= e.received_at + INTERVAL '{{vars.events_window_minutes}} minutes'
  AND e.event_type <> 'delete'
  AND {{> not_deleted_user}}
GROUP BY 1, 2
