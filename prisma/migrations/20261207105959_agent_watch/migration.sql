-- CreateTable
CREATE TABLE "agent_watch" (
    "node_id" TEXT NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL,
    "ended_at" TIMESTAMP(3),
    "previous_ended_at" TIMESTAMP(3),

    CONSTRAINT "agent_watch_pkey" PRIMARY KEY ("node_id")
);
