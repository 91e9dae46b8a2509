-- The network hub's PostgreSQL schema. Ids of desks, registrars, sessions, ratings and alerts
-- are each site's own, so every key starts with the site. Times are bigint milliseconds since
-- the Unix epoch, UTC, as at the sites.

CREATE TABLE sites (
    id             serial PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    key_hash       bytea NOT NULL UNIQUE, -- sha256 of the site key; the key itself is shown once
    created_at     bigint NOT NULL,
    last_seq       bigint NOT NULL DEFAULT 0, -- the last journal seq applied
    last_seen      bigint,
    schema_version bigint,
    time_zone      text NOT NULL DEFAULT 'UTC',
    clock_skew_ms  bigint -- the site's clock minus the hub's, at the last batch
);

-- One person however many sites they work at; a site's registrar is mapped to one.
CREATE TABLE people (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE registrars (
    site_id   int NOT NULL REFERENCES sites (id),
    id        bigint NOT NULL,
    name      text NOT NULL,
    active    boolean NOT NULL,
    person_id bigint NOT NULL REFERENCES people (id),
    PRIMARY KEY (site_id, id)
);
CREATE INDEX registrars_person ON registrars (person_id);

CREATE TABLE desks (
    site_id int NOT NULL REFERENCES sites (id),
    id      bigint NOT NULL,
    name    text NOT NULL,
    active  boolean NOT NULL,
    PRIMARY KEY (site_id, id)
);

CREATE TABLE sessions (
    site_id      int NOT NULL REFERENCES sites (id),
    id           bigint NOT NULL,
    desk_id      bigint NOT NULL,
    registrar_id bigint NOT NULL,
    started_at   bigint NOT NULL,
    ended_at     bigint,
    PRIMARY KEY (site_id, id)
);

-- Partitioned by month of `at` (the press); the hub creates a month's partition before its
-- first rating. `seq` is the site journal's, so the order a site made them in is kept.
CREATE TABLE ratings (
    site_id      int NOT NULL,
    id           bigint NOT NULL,
    at           bigint NOT NULL,
    desk_id      bigint NOT NULL,
    registrar_id bigint,
    session_id   bigint,
    score        smallint NOT NULL,
    scale        smallint NOT NULL,
    source       text NOT NULL,
    received_at  bigint NOT NULL,
    seq          bigint NOT NULL,
    flag         text,
    annulled     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (site_id, id, at)
) PARTITION BY RANGE (at);

-- The roll-up every report reads: ratings per site, the site's local day, registrar (0: nobody
-- at the desk), desk, score and state (ok, flagged, annulled), kept in step with `ratings` in
-- the transaction that changes them.
CREATE TABLE daily (
    site_id      int NOT NULL,
    day          date NOT NULL,
    registrar_id bigint NOT NULL,
    desk_id      bigint NOT NULL,
    score        smallint NOT NULL,
    scale        smallint NOT NULL,
    state        text NOT NULL CHECK (state IN ('ok', 'flagged', 'annulled')),
    n            bigint NOT NULL,
    PRIMARY KEY (day, site_id, registrar_id, desk_id, score, scale, state)
);

CREATE TABLE corrections (
    site_id   int NOT NULL,
    id        bigint NOT NULL,
    rating_id bigint NOT NULL,
    action    text NOT NULL,
    at        bigint NOT NULL,
    PRIMARY KEY (site_id, id)
);

CREATE TABLE reasons (
    site_id   int NOT NULL,
    rating_id bigint NOT NULL,
    code      text NOT NULL,
    label     text NOT NULL,
    picked_at bigint NOT NULL,
    PRIMARY KEY (site_id, rating_id)
);

CREATE TABLE alerts (
    site_id     int NOT NULL,
    id          bigint NOT NULL,
    rating_id   bigint NOT NULL,
    state       text NOT NULL,
    created_at  bigint NOT NULL,
    rule        text,
    taken_at    bigint,
    resolved_at bigint,
    PRIMARY KEY (site_id, id)
);

-- What goes down to the sites, versioned: the people (the version moves when one is added,
-- renamed or merged, and at every start) and a settings template every site applies. The
-- version is a sequence so batches adding people never queue on one row.
CREATE SEQUENCE roster_version;
CREATE TABLE roster (
    one              int PRIMARY KEY CHECK (one = 1),
    template_version bigint NOT NULL,
    template         jsonb
);
INSERT INTO roster VALUES (1, 0, NULL);

-- The hub's own token for reading the network's figures (`otklik hub token`).
CREATE TABLE hub_secrets (
    name  text PRIMARY KEY,
    value text NOT NULL
);
