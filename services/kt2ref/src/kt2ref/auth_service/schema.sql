-- KT 2.0 reference authentication service (domain admin and token issuer). Idempotent: applied by every start.
CREATE TABLE IF NOT EXISTS domains (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    roles        jsonb NOT NULL,
    -- open; migration (runbook P.8 .. Q.10: the applications publish their migrated data, nothing else
    -- runs); closed (the domain admin only)
    traffic      text NOT NULL DEFAULT 'open' CHECK (traffic IN ('open', 'migration', 'closed'))
);

-- The applications ("SMART services") of a domain: identified by a PEM public key or a JWKS URL.
CREATE TABLE IF NOT EXISTS applications (
    domain     text NOT NULL REFERENCES domains ON DELETE CASCADE,
    client_id  text NOT NULL,
    name       text NOT NULL,
    supplier   text NOT NULL,
    kind       text NOT NULL,
    role       text NOT NULL,
    public_key text,
    jwks_url   text,
    status     text NOT NULL CHECK (status IN ('pending', 'approved', 'withdrawn')),
    admin      boolean NOT NULL DEFAULT false,  -- the domain admin: served while the domain is closed
    PRIMARY KEY (domain, client_id),
    CHECK ((public_key IS NULL) <> (jwks_url IS NULL))
);

-- A database of an earlier release: the boolean switches became the traffic state and the domain admin.
ALTER TABLE domains ADD COLUMN IF NOT EXISTS traffic text NOT NULL DEFAULT 'open'
    CHECK (traffic IN ('open', 'migration', 'closed'));
ALTER TABLE domains DROP COLUMN IF EXISTS traffic_open;
ALTER TABLE applications ADD COLUMN IF NOT EXISTS admin boolean NOT NULL DEFAULT false;
ALTER TABLE applications DROP COLUMN IF EXISTS migration;

-- Assertion ids already used (replay protection for private_key_jwt), kept until the assertion expires.
CREATE TABLE IF NOT EXISTS used_assertions (
    jti     text PRIMARY KEY,
    expires timestamptz NOT NULL
);
