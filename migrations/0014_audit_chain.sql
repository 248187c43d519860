-- The audit log becomes append-only and tamper-evident. Each row gets its place in a chain (seq)
-- and hash = sha256(previous row's hash || the row's canonical content); a BEFORE INSERT trigger
-- sets both, serializing appends on the single audit_chain row, which it locks FOR UPDATE until
-- the inserting transaction ends. Triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE "audit_chain" (
	"id" smallint PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "audit_chain_single_row" CHECK ("audit_chain"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "ip" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "hash" text;--> statement-breakpoint
-- The content a row's hash covers, as text PostgreSQL writes the same way whatever the session's
-- settings: jsonb output orders keys itself, and the time is microseconds since 1970.
CREATE FUNCTION audit_log_content(e audit_log) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_array(
    e.seq, e.id, (extract(epoch FROM e.created_at) * 1000000)::bigint, e.actor_user_id,
    e.action, e.target_type, e.target_id, e.ip, e.details
  )::text
$$;
--> statement-breakpoint
-- Rows written before the chain existed are chained in the order they were written.
DO $$
DECLARE
  r audit_log;
  h text := repeat('0', 64);
  n bigint := 0;
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY created_at, id LOOP
    n := n + 1;
    r.seq := n;
    h := encode(sha256(convert_to(h || audit_log_content(r), 'UTF8')), 'hex');
    UPDATE audit_log SET seq = n, hash = h WHERE id = r.id;
  END LOOP;
  INSERT INTO audit_chain (id, seq, hash) VALUES (1, n, h);
END $$;
--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "seq" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "hash" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_seq_key" ON "audit_log" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor_user_id","seq");--> statement-breakpoint
CREATE FUNCTION audit_log_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_chain;
BEGIN
  -- Waits for any other append still in flight and then sees its result: the chain stays linear.
  SELECT * INTO head FROM audit_chain WHERE id = 1 FOR UPDATE;
  NEW.seq := head.seq + 1;
  NEW.hash := encode(sha256(convert_to(head.hash || audit_log_content(NEW), 'UTF8')), 'hex');
  UPDATE audit_chain SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append();--> statement-breakpoint
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
