---
kind: source
enabled: {{vars.kafka_enabled}}
description: Raw Segment events from the Kafka topic, one message per row as bytes
---
-- FORMAT BYTES gives one column, data bytea; segment_events_json decodes it.
-- Locally, the dev server's produce endpoint (POST /topics/<topic>) appends messages to this source.
FROM KAFKA CONNECTION {{ref.kafka_connection}} (TOPIC '{{vars.kafka_topic}}')
FORMAT BYTES
