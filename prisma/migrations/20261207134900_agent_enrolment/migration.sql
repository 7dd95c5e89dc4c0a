-- Agent enrolment (issue 13 §2): a node's agent credential is no longer a
-- node field any read returns, but a credential of its own, kept only as its
-- SHA-256 (hex of the UTF-8 text, as services/vpn/auth/agent-credentials.ts
-- computes it). The plaintext agent_identity values are HASHED into
-- agent_credential before the column is dropped: agents deployed with their
-- old identity keep working (until rotated or revoked), and no identity
-- survives in clear.

-- CreateTable
CREATE TABLE "agent_credential" (
    "id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),
    "retires_at" TIMESTAMP(3),
    "replaces_id" TEXT,

    CONSTRAINT "agent_credential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "join_token" (
    "id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "join_token_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "agent_credential_hash_key" ON "agent_credential"("hash");

-- CreateIndex
CREATE INDEX "agent_credential_node_id_idx" ON "agent_credential"("node_id");

-- CreateIndex
CREATE UNIQUE INDEX "join_token_hash_key" ON "join_token"("hash");

-- CreateIndex
CREATE INDEX "join_token_node_id_idx" ON "join_token"("node_id");

-- AddForeignKey
ALTER TABLE "agent_credential" ADD CONSTRAINT "agent_credential_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "join_token" ADD CONSTRAINT "join_token_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Each existing identity becomes one credential of its node, then goes.
INSERT INTO "agent_credential" ("id", "node_id", "hash")
SELECT gen_random_uuid()::text, "id", encode(sha256(convert_to("agent_identity", 'UTF8')), 'hex')
FROM "node" WHERE "agent_identity" IS NOT NULL;

-- DropIndex
DROP INDEX "node_agent_identity_key";

-- AlterTable
ALTER TABLE "node" DROP COLUMN "agent_identity";
