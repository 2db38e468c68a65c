CREATE SECRET IF NOT EXISTS "public"."kafka_sasl_password" AS :'KAFKA_SASL_PASSWORD';
