-- Supervisors log into the console as themselves: a name and their own password (an argon2
-- PHC string). The single console password of before becomes the first of them, named
-- "Руководитель"; they can add the others and change their own password.

CREATE TABLE supervisors (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL UNIQUE,  -- the name as typed at login: trimmed, in lower case
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

INSERT INTO supervisors (name, name_key, password_hash, created_at)
SELECT 'Руководитель', 'руководитель', value, CAST(unixepoch('subsec') * 1000 AS INTEGER)
FROM secrets WHERE key = 'console_password';

DELETE FROM secrets WHERE key = 'console_password';
