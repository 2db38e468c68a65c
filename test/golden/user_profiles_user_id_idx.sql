CREATE INDEX "user_profiles_user_id_idx" IN CLUSTER "quickstart" ON "public"."user_profiles" ("user_id");
