---
kind: materialized_view
schema: analytics
cluster: analytics_cluster
enabled: {{vars.kafka_enabled}}
description: Kafka messages decoded to jsonb, in the same shape as the webhook source's body; only messages that are JSON objects (the rest are in segment_kafka_dead_letter)
---
-- The CASE guards the cast: Materialize may evaluate an expression before the WHERE that filters
-- its row, but never a CASE branch that is not taken.
SELECT CASE WHEN reason IS NULL THEN CAST(message AS jsonb) END AS body
FROM {{ref.segment_kafka_messages}}
WHERE reason IS NULL
