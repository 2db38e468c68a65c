SELECT tested."event_type" AS "event_type", count(*) AS occurrences
FROM "analytics"."stg_segment_events" AS tested
WHERE tested."event_type" IS NOT NULL AND tested."event_type" NOT IN ('track', 'page', 'screen', 'identify', 'group', 'alias', 'delete')
GROUP BY tested."event_type";
