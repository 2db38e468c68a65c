CREATE VIEW "analytics"."segment_kafka_dead_letter" AS
SELECT data, message, reason
FROM "analytics"."segment_kafka_messages"
WHERE reason IS NOT NULL;
