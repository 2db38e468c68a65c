---
kind: materialized_view
enabled: {{vars.kafka_enabled}}
description: Kafka messages decoded to jsonb, in the same shape as the webhook source's body
---
SELECT CAST(convert_from(data, 'utf8') AS jsonb) AS body
FROM {{ref.segment_kafka_source}}
