CREATE INDEX "page_views_by_url_url_idx" IN CLUSTER "quickstart" ON "public"."page_views_by_url" ("url");
