-- Issue 6 (channels): per-provider rate limits and concurrency (null = unlimited).
ALTER TABLE providers ADD COLUMN rate_per_second double precision;
ALTER TABLE providers ADD COLUMN max_concurrency integer;
