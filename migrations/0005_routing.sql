CREATE TABLE "agent_profiles" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"presence" text DEFAULT 'offline' NOT NULL,
	"presence_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"skills" text[] DEFAULT '{}'::text[] NOT NULL,
	"languages" text[] DEFAULT '{}'::text[] NOT NULL,
	"team_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"capacity" integer DEFAULT 5 NOT NULL,
	"channel_capacity" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"active_count" integer DEFAULT 0 NOT NULL,
	"channel_load" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_assigned_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_profiles_presence_check" CHECK (presence in ('online', 'busy', 'away', 'offline')),
	CONSTRAINT "agent_profiles_load_check" CHECK (active_count >= 0)
);
--> statement-breakpoint
CREATE TABLE "conversation_assignments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"note" text,
	"actor_user_id" uuid,
	"assigned_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text
);
--> statement-breakpoint
CREATE TABLE "conversation_transfers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"from_agent_id" uuid,
	"to_agent_id" uuid,
	"to_team_id" uuid,
	"note" text,
	"actor_user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "routing_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"position" integer NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"conditions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"actions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "routing_settings" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teams" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "routing_status" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "handed_over_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "queued_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "assigned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "required_skills" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "routing_language" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "routing_channel_type" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "routing_rule_id" uuid;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "sla_policy" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "queue_notice_position" integer;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "queue_notice_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agent_profiles" ADD CONSTRAINT "agent_profiles_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_assignments" ADD CONSTRAINT "conversation_assignments_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_assignments" ADD CONSTRAINT "conversation_assignments_agent_id_users_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_assignments" ADD CONSTRAINT "conversation_assignments_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_transfers" ADD CONSTRAINT "conversation_transfers_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_transfers" ADD CONSTRAINT "conversation_transfers_from_agent_id_users_id_fk" FOREIGN KEY ("from_agent_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_transfers" ADD CONSTRAINT "conversation_transfers_to_agent_id_users_id_fk" FOREIGN KEY ("to_agent_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_transfers" ADD CONSTRAINT "conversation_transfers_to_team_id_teams_id_fk" FOREIGN KEY ("to_team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_transfers" ADD CONSTRAINT "conversation_transfers_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_profiles_online_idx" ON "agent_profiles" USING btree ("active_count") WHERE presence = 'online';--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_assignments_open_key" ON "conversation_assignments" USING btree ("conversation_id") WHERE ended_at is null;--> statement-breakpoint
CREATE INDEX "conversation_assignments_agent_idx" ON "conversation_assignments" USING btree ("agent_id","assigned_at");--> statement-breakpoint
CREATE INDEX "conversation_assignments_conversation_idx" ON "conversation_assignments" USING btree ("conversation_id","assigned_at");--> statement-breakpoint
CREATE INDEX "conversation_transfers_conversation_idx" ON "conversation_transfers" USING btree ("conversation_id","created_at");--> statement-breakpoint
CREATE INDEX "routing_rules_position_idx" ON "routing_rules" USING btree ("position");--> statement-breakpoint
CREATE UNIQUE INDEX "teams_name_key" ON "teams" USING btree ("name");--> statement-breakpoint
CREATE INDEX "conversations_queue_idx" ON "conversations" USING btree ("priority" DESC NULLS FIRST,"queued_at","id") WHERE routing_status = 'queued';--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_routing_status_check" CHECK (routing_status in ('queued', 'assigned'));