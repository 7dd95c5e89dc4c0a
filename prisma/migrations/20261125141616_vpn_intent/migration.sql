-- CreateEnum
CREATE TYPE "ResourceStatus" AS ENUM ('PENDING', 'PROVISIONING', 'ACTIVE', 'FAILED');

-- CreateEnum
CREATE TYPE "NodeRole" AS ENUM ('PE', 'P');

-- CreateEnum
CREATE TYPE "NodeTransport" AS ENUM ('SR', 'EXTERNAL');

-- CreateEnum
CREATE TYPE "VpnTopology" AS ENUM ('ANY_TO_ANY', 'HUB_SPOKE');

-- CreateEnum
CREATE TYPE "LabelMode" AS ENUM ('PER_VRF', 'PER_CE', 'PER_PREFIX');

-- CreateEnum
CREATE TYPE "SiteRole" AS ENUM ('ANY_TO_ANY', 'HUB', 'SPOKE');

-- CreateEnum
CREATE TYPE "TokenScope" AS ENUM ('READ', 'WRITE', 'ADMIN');

-- CreateTable
CREATE TABLE "node" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" "NodeRole" NOT NULL,
    "router_id" TEXT NOT NULL,
    "loopback" TEXT NOT NULL,
    "as_number" BIGINT NOT NULL,
    "label_min" INTEGER,
    "label_max" INTEGER,
    "srgb_base" INTEGER,
    "srgb_size" INTEGER,
    "node_sid_index" INTEGER,
    "transport" "NodeTransport" NOT NULL,
    "agent_identity" TEXT,
    "status" "ResourceStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "link" (
    "id" TEXT NOT NULL,
    "a_node_id" TEXT NOT NULL,
    "a_interface" TEXT NOT NULL,
    "a_address" TEXT,
    "b_node_id" TEXT NOT NULL,
    "b_interface" TEXT NOT NULL,
    "b_address" TEXT,
    "igp_metric" INTEGER NOT NULL,
    "status" "ResourceStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "link_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vpn" (
    "id" TEXT NOT NULL,
    "customer" TEXT NOT NULL,
    "description" TEXT,
    "topology" "VpnTopology" NOT NULL,
    "address_families" TEXT[],
    "label_mode" "LabelMode" NOT NULL,
    "max_routes_per_vrf" INTEGER NOT NULL,
    "route_distinguisher" TEXT,
    "status" "ResourceStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "vpn_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vpn_route_target" (
    "vpn_id" TEXT NOT NULL,
    "role" "SiteRole" NOT NULL,
    "value" TEXT,
    "given" BOOLEAN NOT NULL,

    CONSTRAINT "vpn_route_target_pkey" PRIMARY KEY ("vpn_id","role")
);

-- CreateTable
CREATE TABLE "vpn_import" (
    "importer_id" TEXT NOT NULL,
    "exporter_id" TEXT NOT NULL,

    CONSTRAINT "vpn_import_pkey" PRIMARY KEY ("importer_id","exporter_id")
);

-- CreateTable
CREATE TABLE "site" (
    "id" TEXT NOT NULL,
    "vpn_id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "interface" TEXT NOT NULL,
    "vlan" INTEGER NOT NULL DEFAULT 0,
    "ipv4_pe_address" TEXT,
    "ipv4_ce_address" TEXT,
    "ipv6_pe_address" TEXT,
    "ipv6_ce_address" TEXT,
    "role" "SiteRole" NOT NULL,
    "static_routes" JSONB NOT NULL DEFAULT '[]',
    "bgp" JSONB,
    "site_of_origin" TEXT,
    "status" "ResourceStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "site_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vrf" (
    "id" TEXT NOT NULL,
    "vpn_id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "route_distinguisher" TEXT,
    "status" "ResourceStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "vrf_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox" (
    "id" BIGSERIAL NOT NULL,
    "aggregate" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "nodes" TEXT[],
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMP(3),

    CONSTRAINT "outbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_token" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "scope" "TokenScope" NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),
    "last_used_at" TIMESTAMP(3),

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_key" (
    "token_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status" INTEGER,
    "headers" JSONB,
    "body" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "idempotency_key_pkey" PRIMARY KEY ("token_id","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "node_router_id_key" ON "node"("router_id");

-- CreateIndex
CREATE UNIQUE INDEX "node_loopback_key" ON "node"("loopback");

-- CreateIndex
CREATE UNIQUE INDEX "node_node_sid_index_key" ON "node"("node_sid_index");

-- CreateIndex
CREATE UNIQUE INDEX "node_agent_identity_key" ON "node"("agent_identity");

-- CreateIndex
CREATE INDEX "node_role_id_idx" ON "node"("role", "id");

-- CreateIndex
CREATE INDEX "link_b_node_id_idx" ON "link"("b_node_id");

-- CreateIndex
CREATE UNIQUE INDEX "link_a_node_id_a_interface_key" ON "link"("a_node_id", "a_interface");

-- CreateIndex
CREATE UNIQUE INDEX "link_b_node_id_b_interface_key" ON "link"("b_node_id", "b_interface");

-- CreateIndex
CREATE UNIQUE INDEX "vpn_route_distinguisher_key" ON "vpn"("route_distinguisher");

-- CreateIndex
CREATE INDEX "vpn_customer_id_idx" ON "vpn"("customer", "id");

-- CreateIndex
CREATE UNIQUE INDEX "vpn_route_target_value_key" ON "vpn_route_target"("value");

-- CreateIndex
CREATE INDEX "vpn_import_exporter_id_idx" ON "vpn_import"("exporter_id");

-- CreateIndex
CREATE INDEX "site_vpn_id_id_idx" ON "site"("vpn_id", "id");

-- CreateIndex
CREATE INDEX "site_node_id_id_idx" ON "site"("node_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "site_node_id_interface_vlan_key" ON "site"("node_id", "interface", "vlan");

-- CreateIndex
CREATE INDEX "vrf_node_id_id_idx" ON "vrf"("node_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "vrf_vpn_id_node_id_key" ON "vrf"("vpn_id", "node_id");

-- CreateIndex
CREATE INDEX "outbox_sent_at_id_idx" ON "outbox"("sent_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_name_key" ON "api_token"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_hash_key" ON "api_token"("hash");

-- CreateIndex
CREATE INDEX "idempotency_key_expires_at_idx" ON "idempotency_key"("expires_at");

-- AddForeignKey
ALTER TABLE "link" ADD CONSTRAINT "link_a_node_id_fkey" FOREIGN KEY ("a_node_id") REFERENCES "node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "link" ADD CONSTRAINT "link_b_node_id_fkey" FOREIGN KEY ("b_node_id") REFERENCES "node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vpn_route_target" ADD CONSTRAINT "vpn_route_target_vpn_id_fkey" FOREIGN KEY ("vpn_id") REFERENCES "vpn"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vpn_import" ADD CONSTRAINT "vpn_import_importer_id_fkey" FOREIGN KEY ("importer_id") REFERENCES "vpn"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vpn_import" ADD CONSTRAINT "vpn_import_exporter_id_fkey" FOREIGN KEY ("exporter_id") REFERENCES "vpn"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "site" ADD CONSTRAINT "site_vpn_id_fkey" FOREIGN KEY ("vpn_id") REFERENCES "vpn"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "site" ADD CONSTRAINT "site_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vrf" ADD CONSTRAINT "vrf_vpn_id_fkey" FOREIGN KEY ("vpn_id") REFERENCES "vpn"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vrf" ADD CONSTRAINT "vrf_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
