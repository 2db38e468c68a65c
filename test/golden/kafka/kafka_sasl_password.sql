CREATE SECRET IF NOT EXISTS "segment"."kafka_sasl_password" AS :'KAFKA_SASL_PASSWORD';
