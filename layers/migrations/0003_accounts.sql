-- Accounts: server-side sessions (so logout, a password change or disabling a user kills a
-- session at once), API keys stored as hashes, and the audit trail of the 电子底册.

ALTER TABLE app_user ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE user_session (
    token_hash    text PRIMARY KEY,            -- sha256 of the token in the cookie
    user_id       int  NOT NULL REFERENCES app_user ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_session_user_idx ON user_session (user_id);

CREATE TABLE api_key (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    key_hash    text NOT NULL UNIQUE,          -- sha256; the key itself is shown once
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled    boolean NOT NULL DEFAULT false
);

CREATE INDEX user_area_user_idx ON user_area (user_id);

-- Who changed which 三长 entry, when, from what to what. Append-only like the issue log.
CREATE TABLE head_event (
    id       bigserial PRIMARY KEY,
    head_id  int  NOT NULL REFERENCES head ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL CHECK (action IN ('add', 'edit', 'replace', 'retire')),
    before   jsonb,
    after    jsonb
);
CREATE INDEX head_event_head_idx ON head_event (head_id, at);
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER head_event_no_update BEFORE UPDATE OR DELETE ON head_event
    FOR EACH ROW EXECUTE FUNCTION append_only();
