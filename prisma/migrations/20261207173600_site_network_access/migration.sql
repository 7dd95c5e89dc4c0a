-- Sites get one or more site network accesses (RFC 8299): the attachment
-- columns of "site" move to "site_access", one row per existing site (its
-- one access, id = the site's id), and the site says how its accesses share
-- traffic.

-- CreateEnum
CREATE TYPE "Multihoming" AS ENUM ('SINGLE_ACTIVE', 'ALL_ACTIVE');

-- AlterTable
ALTER TABLE "site" ADD COLUMN     "multihoming" "Multihoming" NOT NULL DEFAULT 'SINGLE_ACTIVE';

-- CreateTable
CREATE TABLE "site_access" (
    "site_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "interface" TEXT NOT NULL,
    "vlan" INTEGER NOT NULL DEFAULT 0,
    "ipv4_pe_address" TEXT,
    "ipv4_ce_address" TEXT,
    "ipv6_pe_address" TEXT,
    "ipv6_ce_address" TEXT,
    "priority" INTEGER NOT NULL DEFAULT 100,
    "status" "ResourceStatus" NOT NULL DEFAULT 'PENDING',
    "status_reason" TEXT,

    CONSTRAINT "site_access_pkey" PRIMARY KEY ("site_id","id")
);

-- Existing rows: each site's one access, with the site's status.
INSERT INTO "site_access" ("site_id", "id", "node_id", "interface", "vlan", "ipv4_pe_address", "ipv4_ce_address", "ipv6_pe_address", "ipv6_ce_address", "status", "status_reason")
SELECT "id", "id", "node_id", "interface", "vlan", "ipv4_pe_address", "ipv4_ce_address", "ipv6_pe_address", "ipv6_ce_address", "status", "status_reason" FROM "site";

-- CreateIndex
CREATE UNIQUE INDEX "site_access_node_id_interface_vlan_key" ON "site_access"("node_id", "interface", "vlan");

-- CreateIndex
CREATE UNIQUE INDEX "site_access_site_id_node_id_key" ON "site_access"("site_id", "node_id");

-- AddForeignKey
ALTER TABLE "site_access" ADD CONSTRAINT "site_access_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "site_access" ADD CONSTRAINT "site_access_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- DropForeignKey
ALTER TABLE "site" DROP CONSTRAINT "site_node_id_fkey";

-- DropIndex
DROP INDEX "site_node_id_id_idx";

-- DropIndex
DROP INDEX "site_node_id_interface_vlan_key";

-- AlterTable
ALTER TABLE "site" DROP COLUMN "interface",
DROP COLUMN "ipv4_ce_address",
DROP COLUMN "ipv4_pe_address",
DROP COLUMN "ipv6_ce_address",
DROP COLUMN "ipv6_pe_address",
DROP COLUMN "node_id",
DROP COLUMN "vlan";
