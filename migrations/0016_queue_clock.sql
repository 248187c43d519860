-- The waiting line's order is the order in which conversations joining it commit (issue #23).
-- queued_at used to be now(), the start of the joining transaction: with several processes a
-- transaction that started earlier could commit later and slot in ahead of customers already
-- told their place. Now every join stamps queued_at through hub_queue_stamp(), which locks the
-- single queue_clock row until the joining transaction ends: the next join waits for that commit
-- and gets a later stamp, whichever process runs it. The stamp only grows, even if the
-- database's clock steps back. Hand-written (the row is internal to the function, like the hub_*
-- ingest functions), so the drizzle schema does not declare it.
CREATE TABLE "queue_clock" (
	"id" smallint PRIMARY KEY NOT NULL,
	"stamped_at" timestamp with time zone NOT NULL,
	CONSTRAINT "queue_clock_single_row" CHECK ("queue_clock"."id" = 1)
);
--> statement-breakpoint
INSERT INTO "queue_clock" ("id", "stamped_at")
  SELECT 1, greatest(now(), coalesce(max("queued_at"), now())) FROM "conversations";
--> statement-breakpoint
-- Call it as the last thing a joining transaction does before committing: the row stays locked
-- until then, and every other join waits for it.
CREATE FUNCTION hub_queue_stamp() RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
  UPDATE queue_clock SET stamped_at = greatest(clock_timestamp(), stamped_at + interval '1 microsecond')
    WHERE id = 1 RETURNING stamped_at
$$;
