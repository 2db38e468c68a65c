CREATE MATERIALIZED VIEW "analytics"."segment_events_json"
  IN CLUSTER "analytics_cluster" AS
-- The CASE guards the cast: Materialize may evaluate an expression before the WHERE that filters
-- its row, but never a CASE branch that is not taken.
SELECT CASE WHEN reason IS NULL THEN CAST(message AS jsonb) END AS body
FROM "analytics"."segment_kafka_messages"
WHERE reason IS NULL;
