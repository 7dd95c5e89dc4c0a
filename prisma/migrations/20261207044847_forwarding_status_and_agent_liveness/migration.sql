-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ResourceStatus" ADD VALUE 'DEGRADED';
ALTER TYPE "ResourceStatus" ADD VALUE 'DOWN';
ALTER TYPE "ResourceStatus" ADD VALUE 'UNREACHABLE';

-- AlterTable
ALTER TABLE "agent_status" ADD COLUMN     "last_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "ports" JSONB NOT NULL DEFAULT '[]';
