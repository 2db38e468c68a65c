SELECT tested."message_id" AS "message_id", count(*) AS occurrences
FROM "analytics"."stg_segment_events" AS tested
WHERE tested."message_id" IS NOT NULL
GROUP BY tested."message_id"
HAVING count(*) > 1;
