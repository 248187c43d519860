-- What the agent console's lists need. pg_trgm ships with PostgreSQL (a trusted extension since
-- 13: the database owner may create it) and is loaded into the embedded PGlite build by
-- core/db/client.ts.
-- The indexes are IF NOT EXISTS so a large deployment can build them beforehand with
-- CREATE INDEX CONCURRENTLY (same names and definitions) instead of inside this migration.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
-- Staff notes are messages with direction 'internal'. Every existing row passed the stricter
-- check it replaces, so the new one need not scan the messages table (NOT VALID): it still
-- holds for every row written from now on.
ALTER TABLE "messages" DROP CONSTRAINT "messages_direction_check";--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_direction_check" CHECK (direction in ('inbound', 'outbound', 'internal')) NOT VALID;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "last_inbound_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "contact_identities_value_trgm_idx" ON "contact_identities" USING gin ("value" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "contacts_name_trgm_idx" ON "contacts" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "conversations_resolved_idx" ON "conversations" USING btree ("resolved_at") WHERE status = 'resolved';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "inbound_events_dead_idx" ON "inbound_events" USING btree ("channel_id","received_at") WHERE status = 'dead';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_failed_idx" ON "messages" USING btree ("channel_id","updated_at") WHERE status in ('failed', 'unknown');
