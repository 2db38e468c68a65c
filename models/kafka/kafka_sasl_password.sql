---
kind: secret
enabled: {{vars.kafka_enabled}}
description: SASL password of the Kafka user, from KAFKA_SASL_PASSWORD
---
