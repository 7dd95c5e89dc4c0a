-- CreateEnum
CREATE TYPE "PoolKind" AS ENUM ('LABEL', 'SRGB', 'RD', 'RT');

-- CreateTable
CREATE TABLE "pool" (
    "id" BIGSERIAL NOT NULL,
    "kind" "PoolKind" NOT NULL,
    "scope" TEXT NOT NULL,
    "min" BIGINT NOT NULL,
    "max" BIGINT NOT NULL,
    "base" BIGINT NOT NULL DEFAULT 0,
    "next_value" BIGINT NOT NULL,
    "hold_down_ms" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "pool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "allocation" (
    "pool_id" BIGINT NOT NULL,
    "value" BIGINT NOT NULL,
    "owner" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "released_at" TIMESTAMP(3),
    "reusable_at" TIMESTAMP(3),
    "allocated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "allocation_pkey" PRIMARY KEY ("pool_id","value")
);

-- CreateIndex
CREATE UNIQUE INDEX "pool_kind_scope_key" ON "pool"("kind", "scope");

-- CreateIndex
CREATE INDEX "allocation_pool_id_reusable_at_idx" ON "allocation"("pool_id", "reusable_at");

-- CreateIndex
CREATE UNIQUE INDEX "allocation_pool_id_owner_key" ON "allocation"("pool_id", "owner");

-- AddForeignKey
ALTER TABLE "allocation" ADD CONSTRAINT "allocation_pool_id_fkey" FOREIGN KEY ("pool_id") REFERENCES "pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;
