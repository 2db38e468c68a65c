SELECT tested."day" AS "day", count(*) AS occurrences
FROM "analytics"."daily_active_users" AS tested
WHERE tested."day" IS NOT NULL
GROUP BY tested."day"
HAVING count(*) > 1;
