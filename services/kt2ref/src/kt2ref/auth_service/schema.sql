-- KT 2.0 reference authentication service (domain admin and token issuer). Idempotent: applied by every start.
CREATE TABLE IF NOT EXISTS domains (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    roles        jsonb NOT NULL,
    traffic_open boolean NOT NULL DEFAULT true
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
    migration  boolean NOT NULL DEFAULT false,  -- admitted while the domain is closed (being migrated)
    PRIMARY KEY (domain, client_id),
    CHECK ((public_key IS NULL) <> (jwks_url IS NULL))
);

-- Assertion ids already used (replay protection for private_key_jwt), kept until the assertion expires.
CREATE TABLE IF NOT EXISTS used_assertions (
    jti     text PRIMARY KEY,
    expires timestamptz NOT NULL
);
