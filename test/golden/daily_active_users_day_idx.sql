CREATE INDEX "daily_active_users_day_idx" IN CLUSTER "quickstart" ON "public"."daily_active_users" ("day");
