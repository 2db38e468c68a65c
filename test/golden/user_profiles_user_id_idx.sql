CREATE INDEX "user_profiles_user_id_idx" IN CLUSTER "analytics_cluster" ON "analytics"."user_profiles" ("user_id");
