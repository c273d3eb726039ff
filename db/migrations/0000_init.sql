CREATE TABLE "dialogues" (
	"id" serial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"dataset" text NOT NULL,
	"dataset_version" text NOT NULL,
	"split" text NOT NULL,
	"dialogue_id" text NOT NULL,
	"run_id" text,
	"services" jsonb NOT NULL,
	"num_user_turns" integer NOT NULL,
	"content" jsonb NOT NULL,
	"states" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "evaluations" (
	"id" serial PRIMARY KEY NOT NULL,
	"run_id" text,
	"model" text NOT NULL,
	"dataset" text NOT NULL,
	"split" text NOT NULL,
	"convention" text NOT NULL,
	"jga" double precision NOT NULL,
	"slot_accuracy" double precision NOT NULL,
	"slot_f1" double precision NOT NULL,
	"turns" integer NOT NULL,
	"report" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"summary" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dialogues" ADD CONSTRAINT "dialogues_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dialogues_natural_key" ON "dialogues" USING btree ("dataset","dataset_version","split","dialogue_id");--> statement-breakpoint
CREATE INDEX "dialogues_dataset_split" ON "dialogues" USING btree ("dataset","split");--> statement-breakpoint
CREATE INDEX "dialogues_run" ON "dialogues" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "evaluations_run" ON "evaluations" USING btree ("run_id");