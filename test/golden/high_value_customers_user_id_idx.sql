CREATE INDEX "high_value_customers_user_id_idx" IN CLUSTER "analytics_cluster" ON "analytics"."high_value_customers" ("user_id");
