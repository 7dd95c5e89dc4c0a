-- CreateTable
CREATE TABLE "vrf_allocation" (
    "vrf_id" TEXT NOT NULL,
    "vpn_id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "table_id" INTEGER NOT NULL,
    "label" INTEGER,
    "rd" TEXT,
    "rd_owned" BOOLEAN NOT NULL DEFAULT false,
    "rd_administrator" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "vrf_allocation_pkey" PRIMARY KEY ("vrf_id")
);

-- CreateTable
CREATE TABLE "vpn_identifier_claim" (
    "owner" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "vpn_id" TEXT NOT NULL,
    "administrator" TEXT NOT NULL,
    "value" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "vpn_identifier_claim_pkey" PRIMARY KEY ("owner")
);

-- CreateTable
CREATE TABLE "node_desired_state" (
    "node_id" TEXT NOT NULL,
    "generation" BIGINT NOT NULL,
    "state" BYTEA NOT NULL,
    "warnings" JSONB NOT NULL DEFAULT '[]',
    "computed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "node_desired_state_pkey" PRIMARY KEY ("node_id","generation")
);

-- CreateTable
CREATE TABLE "agent_status" (
    "node_id" TEXT NOT NULL,
    "applied_generation" BIGINT NOT NULL,
    "driver" TEXT NOT NULL,
    "failures" JSONB NOT NULL DEFAULT '[]',
    "drift" JSONB NOT NULL DEFAULT '[]',
    "installed" JSONB NOT NULL DEFAULT '{}',
    "reported_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_status_pkey" PRIMARY KEY ("node_id")
);

-- CreateTable
CREATE TABLE "node_label" (
    "node_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "label" INTEGER NOT NULL,

    CONSTRAINT "node_label_pkey" PRIMARY KEY ("node_id","owner")
);

-- CreateIndex
CREATE INDEX "vrf_allocation_vpn_id_idx" ON "vrf_allocation"("vpn_id");

-- CreateIndex
CREATE UNIQUE INDEX "vrf_allocation_node_id_table_id_key" ON "vrf_allocation"("node_id", "table_id");

-- CreateIndex
CREATE INDEX "vpn_identifier_claim_vpn_id_idx" ON "vpn_identifier_claim"("vpn_id");
