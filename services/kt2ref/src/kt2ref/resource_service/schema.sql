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
DROP INDEX IF EXISTS resources_identifier;  -- unusable under row-level security; see identifiers

ALTER TABLE resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE resources FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = 'resources' AND policyname = 'one_domain') THEN
        CREATE POLICY one_domain ON resources USING (domain = current_setting('kt2.domain', true));
    END IF;
END $$;

-- The identifiers of every live resource, one row each: FHIR's token search index. Row-level security
-- keeps PostgreSQL from using an index for jsonb containment on `resources` (the operator is not
-- leakproof), so a conditional create would scan the whole domain; text equality here can use one.
-- A trigger keeps it in step with `resources`, whoever writes.
CREATE OR REPLACE FUNCTION identifier_tokens(body jsonb) RETURNS TABLE (system text, value text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(i ->> 'system', ''), coalesce(i ->> 'value', '')
    FROM jsonb_array_elements(CASE jsonb_typeof(body -> 'identifier') WHEN 'array' THEN body -> 'identifier'
                                   ELSE '[]'::jsonb END) AS i
$$;

CREATE OR REPLACE FUNCTION index_identifiers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM identifiers WHERE domain = OLD.domain AND type = OLD.type AND id = OLD.id;
    END IF;
    IF NOT NEW.deleted THEN
        INSERT INTO identifiers (domain, type, id, system, value)
        SELECT NEW.domain, NEW.type, NEW.id, t.system, t.value FROM identifier_tokens(NEW.body) AS t;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    tenant text;
BEGIN
    IF to_regclass('identifiers') IS NULL THEN
        CREATE TABLE identifiers (
            domain text NOT NULL,
            type   text NOT NULL,
            id     text NOT NULL,
            system text NOT NULL,
            value  text NOT NULL,
            FOREIGN KEY (domain, type, id) REFERENCES resources ON DELETE CASCADE
        );
        CREATE INDEX identifiers_token ON identifiers (domain, type, system, value);
        CREATE INDEX identifiers_resource ON identifiers (domain, type, id);
        ALTER TABLE identifiers ENABLE ROW LEVEL SECURITY;
        ALTER TABLE identifiers FORCE ROW LEVEL SECURITY;
        CREATE POLICY one_domain ON identifiers USING (domain = current_setting('kt2.domain', true));
        -- Resources stored before the index existed: indexed once, domain by domain (row-level security).
        FOR tenant IN SELECT id FROM domains LOOP
            PERFORM set_config('kt2.domain', tenant, true);
            INSERT INTO identifiers (domain, type, id, system, value)
            SELECT r.domain, r.type, r.id, t.system, t.value
            FROM resources r, identifier_tokens(r.body) AS t WHERE NOT r.deleted;
        END LOOP;
        PERFORM set_config('kt2.domain', '', true);
    END IF;
END $$;
CREATE OR REPLACE TRIGGER resources_identifiers AFTER INSERT OR UPDATE ON resources
    FOR EACH ROW EXECUTE FUNCTION index_identifiers();

-- Tokens are the authentication service's now (it keeps the assertion ids it has seen).
DROP TABLE IF EXISTS used_assertions;
