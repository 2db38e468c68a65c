CREATE MATERIALIZED VIEW "public"."segment_events_json"
  IN CLUSTER "webhooks_cluster" AS
SELECT CAST(convert_from(data, 'utf8') AS jsonb) AS body
FROM "public"."segment_kafka_source";
