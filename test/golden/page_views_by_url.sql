CREATE MATERIALIZED VIEW "analytics"."page_views_by_url"
  IN CLUSTER "analytics_cluster" AS
SELECT
  coalesce(e.url, e.context_page_url) AS url,
  count(*) AS views,
  count(DISTINCT coalesce(e.user_id, e.anonymous_id)) AS visitors,
  max(coalesce(e.event_timestamp, e.received_at)) AS last_viewed_at
FROM "analytics"."stg_segment_pages" AS e
WHERE coalesce(e.url, e.context_page_url) IS NOT NULL
  AND NOT EXISTS (
        SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted
        WHERE deleted.user_id = e.user_id
      )
GROUP BY 1;
