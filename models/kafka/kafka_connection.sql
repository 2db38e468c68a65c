---
kind: connection
enabled: {{vars.kafka_enabled}}
description: The Kafka cluster Segment events are streamed to (SASL_SSL with SCRAM-SHA-256)
---
TO KAFKA (
  BROKER '{{vars.kafka_broker}}',
  SECURITY PROTOCOL = 'SASL_SSL',
  SASL MECHANISMS = 'SCRAM-SHA-256',
  SASL USERNAME = '{{vars.kafka_username}}',
  SASL PASSWORD = SECRET {{ref.kafka_sasl_password}}
)
