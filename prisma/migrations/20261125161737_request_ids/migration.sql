-- AlterTable
ALTER TABLE "node_desired_state" ADD COLUMN     "request_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "outbox" ADD COLUMN     "request_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];
