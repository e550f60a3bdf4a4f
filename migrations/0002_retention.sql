-- 0002: versions that last.
-- A dataset's own retention, overriding [catalog.retention] (NULL = the default).
CREATE TABLE dataset_retention (
    name             VARCHAR PRIMARY KEY,
    keep_versions    INTEGER,
    keep_age_seconds BIGINT,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- Tags name versions; a tagged version is kept by retention forever.
CREATE TABLE dataset_tags (
    name       VARCHAR NOT NULL,
    tag        VARCHAR NOT NULL,
    version    INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, tag)
);

-- One row per idempotency key: outlives the version it made (retention,
-- compaction), so a replay is recognised as long as the dataset lives.
-- content is what a replay must match: the appended parts' keys, or the
-- whole version's content hash.
CREATE TABLE idempotency_keys (
    name    VARCHAR NOT NULL,
    key     VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    content VARCHAR NOT NULL,
    PRIMARY KEY (name, key)
);

-- Parts compaction merged into another part: an append of the same
-- content is still a replay once its part was compacted away.
CREATE TABLE absorbed_parts (
    name     VARCHAR NOT NULL,
    key      VARCHAR NOT NULL,
    into_key VARCHAR NOT NULL,
    PRIMARY KEY (name, key)
);

-- Files no retained version references any more, deleted after the grace
-- period (a query or reader that started on an expired version finishes).
CREATE TABLE pending_deletes (
    key   VARCHAR PRIMARY KEY,
    bytes BIGINT NOT NULL,
    since TIMESTAMPTZ NOT NULL
);

-- Backfill the keys of the versions kept so far.
INSERT INTO idempotency_keys (name, key, version, content)
SELECT name, idempotency_key, max(version), 'hash:' || arg_max(content_hash, version)
FROM dataset_versions WHERE idempotency_key IS NOT NULL
GROUP BY name, idempotency_key;

CREATE INDEX dataset_files_by_version ON dataset_files (name, version);
