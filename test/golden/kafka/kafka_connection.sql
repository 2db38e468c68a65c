CREATE CONNECTION "segment"."kafka_connection" TO KAFKA (
  BROKER 'broker.example.com:9092',
  SECURITY PROTOCOL = 'SASL_SSL',
  SASL MECHANISMS = 'SCRAM-SHA-256',
  SASL USERNAME = 'segment',
  SASL PASSWORD = SECRET "segment"."kafka_sasl_password"
);
