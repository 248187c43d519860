DROP INDEX "messages_inbound_event_key";--> statement-breakpoint
DROP INDEX "messages_idempotency_key";--> statement-breakpoint
DROP INDEX "messages_provider_id_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "messages_inbound_event_key" ON "messages" USING btree ("inbound_event_id") WHERE inbound_event_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_idempotency_key" ON "messages" USING btree ("idempotency_key") WHERE idempotency_key is not null;--> statement-breakpoint
CREATE INDEX "messages_provider_id_idx" ON "messages" USING btree ("channel_id","provider_message_id") WHERE provider_message_id is not null;