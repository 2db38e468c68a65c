CREATE INDEX "daily_active_users_day_idx" IN CLUSTER "analytics_cluster" ON "analytics"."daily_active_users" ("day");
