SELECT tested."url" AS "url", count(*) AS occurrences
FROM "analytics"."page_views_by_url" AS tested
WHERE tested."url" IS NOT NULL
GROUP BY tested."url"
HAVING count(*) > 1;
