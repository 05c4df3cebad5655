-- KT 2.0 reference resource service. Idempotent: applied by every start.
CREATE TABLE IF NOT EXISTS domains (
    id           text PRIMARY KEY,
    config       jsonb NOT NULL,
    config_hash  text NOT NULL,
    traffic_open boolean NOT NULL DEFAULT true
);

-- One table for all resources, the domain is the tenant key; row-level security keeps tenants apart
-- even when a query forgets its WHERE clause: every transaction sets kt2.domain first.
CREATE TABLE IF NOT EXISTS resources (
    domain       text NOT NULL REFERENCES domains ON DELETE CASCADE,
    type         text NOT NULL,
    id           text NOT NULL,
    version      integer NOT NULL,
    last_updated timestamptz NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    origin       text,
    body         jsonb NOT NULL,
    PRIMARY KEY (domain, type, id)
);
CREATE INDEX IF NOT EXISTS resources_last_updated ON resources (domain, type, last_updated);
CREATE INDEX IF NOT EXISTS resources_identifier ON resources USING gin ((body -> 'identifier') jsonb_path_ops);

ALTER TABLE resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE resources FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'resources' AND policyname = 'one_domain') THEN
        CREATE POLICY one_domain ON resources USING (domain = current_setting('kt2.domain', true));
    END IF;
END $$;

-- Assertion ids already used (replay protection for private_key_jwt).
CREATE TABLE IF NOT EXISTS used_assertions (
    jti     text PRIMARY KEY,
    expires timestamptz NOT NULL
);
