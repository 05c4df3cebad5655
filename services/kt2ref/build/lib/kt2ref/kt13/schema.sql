-- KT 1.3 reference server: per-domain mailboxes. Idempotent: applied by every start.
CREATE TABLE IF NOT EXISTS domains (
    id             text PRIMARY KEY,
    config         jsonb NOT NULL,
    config_hash    text NOT NULL,
    inbound_open   boolean NOT NULL DEFAULT true,
    processing_on  boolean NOT NULL DEFAULT true,
    frozen         boolean NOT NULL DEFAULT false,
    generated      jsonb
);

CREATE TABLE IF NOT EXISTS messages (
    seq           bigserial PRIMARY KEY,
    domain        text NOT NULL REFERENCES domains ON DELETE CASCADE,
    id            uuid NOT NULL UNIQUE,
    event         text NOT NULL,
    sender        text NOT NULL,
    patient       text,
    focus         text,
    status        text NOT NULL DEFAULT 'New',
    retries       integer NOT NULL DEFAULT 0,
    claimed_by    text,
    claimed_until timestamptz,
    received      timestamptz NOT NULL,
    bundle        jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (domain, status, seq);
CREATE INDEX IF NOT EXISTS messages_by_focus ON messages (domain, focus) WHERE status = 'New';
