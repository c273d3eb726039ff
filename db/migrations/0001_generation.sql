CREATE TABLE "generation_attempts" (
	"run_id" text NOT NULL,
	"goal_index" integer NOT NULL,
	"attempt" integer NOT NULL,
	"accepted" boolean NOT NULL,
	"reason" text,
	"failures" jsonb NOT NULL,
	"turns" jsonb NOT NULL,
	"calls" integer NOT NULL,
	"prompt_tokens" integer NOT NULL,
	"completion_tokens" integer NOT NULL,
	"cost_usd" double precision NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "generation_goals" (
	"run_id" text NOT NULL,
	"goal_index" integer NOT NULL,
	"goal" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"reason" text,
	"dialogue_id" text,
	"calls" integer DEFAULT 0 NOT NULL,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "generation_sessions" (
	"run_id" text NOT NULL,
	"goal_index" integer NOT NULL,
	"attempt" integer NOT NULL,
	"steps" integer NOT NULL,
	"session" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "generation_attempts" ADD CONSTRAINT "generation_attempts_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_goals" ADD CONSTRAINT "generation_goals_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_sessions" ADD CONSTRAINT "generation_sessions_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "generation_attempts_key" ON "generation_attempts" USING btree ("run_id","goal_index","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "generation_goals_key" ON "generation_goals" USING btree ("run_id","goal_index");--> statement-breakpoint
CREATE INDEX "generation_goals_status" ON "generation_goals" USING btree ("run_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "generation_sessions_key" ON "generation_sessions" USING btree ("run_id","goal_index");