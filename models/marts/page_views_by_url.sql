---
description: Page views, distinct visitors and the last view per page URL
indexes:
  - columns: [url]
tests:
  - unique: url
---
SELECT
  coalesce(e.url, e.context_page_url) AS url,
  count(*) AS views,
  count(DISTINCT coalesce(e.user_id, e.anonymous_id)) AS visitors,
  max(coalesce(e.event_timestamp, e.received_at)) AS last_viewed_at
FROM {{ref.stg_segment_pages}} AS e
WHERE coalesce(e.url, e.context_page_url) IS NOT NULL
  AND {{> not_deleted_user}}
GROUP BY 1
