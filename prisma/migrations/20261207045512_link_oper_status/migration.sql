-- CreateEnum
CREATE TYPE "LinkOperStatus" AS ENUM ('UNKNOWN', 'UP', 'DOWN');

-- AlterTable
ALTER TABLE "link" ADD COLUMN     "a_oper_down" BOOLEAN,
ADD COLUMN     "a_oper_reason" TEXT,
ADD COLUMN     "b_oper_down" BOOLEAN,
ADD COLUMN     "b_oper_reason" TEXT,
ADD COLUMN     "flap_penalty" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "flap_penalty_at" TIMESTAMP(3),
ADD COLUMN     "held_down_until" TIMESTAMP(3),
ADD COLUMN     "oper_changed_at" TIMESTAMP(3),
ADD COLUMN     "oper_reason" TEXT,
ADD COLUMN     "oper_status" "LinkOperStatus" NOT NULL DEFAULT 'UNKNOWN';
