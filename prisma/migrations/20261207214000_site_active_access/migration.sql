-- Non-revertive single-active sites: the site says whether its traffic
-- returns to the primary access, and which access is active is stored (it
-- must outlive a restart: on a non-revertive site it is not derivable from
-- priorities and port states alone).

-- AlterTable
ALTER TABLE "site" ADD COLUMN     "revertive" BOOLEAN NOT NULL DEFAULT true;

-- CreateTable
CREATE TABLE "site_active_access" (
    "site_id" TEXT NOT NULL,
    "access_id" TEXT NOT NULL,
    "changed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "site_active_access_pkey" PRIMARY KEY ("site_id")
);

-- AddForeignKey
ALTER TABLE "site_active_access" ADD CONSTRAINT "site_active_access_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE ON UPDATE CASCADE;
