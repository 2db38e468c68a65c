SELECT tested."event" AS "event", count(*) AS occurrences
FROM "analytics"."track_event_counts" AS tested
WHERE tested."event" IS NOT NULL
GROUP BY tested."event"
HAVING count(*) > 1;
