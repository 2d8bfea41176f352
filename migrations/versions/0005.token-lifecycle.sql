-- Tokens expire (`token create --expires-in`), are revoked (`token revoke`), and say when they
-- were last used (`token list`). Times are ISO 8601 in UTC, like created_at. NULL: never expires,
-- never used, not revoked. Plain SQL that SQLite and PostgreSQL both accept.
-- depends: 0004.public-speed

ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
