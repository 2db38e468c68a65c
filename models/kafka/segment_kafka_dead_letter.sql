---
kind: view
schema: analytics
cluster: analytics_cluster
enabled: {{vars.kafka_enabled}}
description: Kafka messages that cannot become events, with their raw bytes and the reason; query it (or SUBSCRIBE to it) to see what a producer sends wrong
---
SELECT data, message, reason
FROM {{ref.segment_kafka_messages}}
WHERE reason IS NOT NULL
