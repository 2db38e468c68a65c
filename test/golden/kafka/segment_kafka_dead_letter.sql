CREATE VIEW "public"."segment_kafka_dead_letter" AS
SELECT data, message, reason
FROM "public"."segment_kafka_messages"
WHERE reason IS NOT NULL;
