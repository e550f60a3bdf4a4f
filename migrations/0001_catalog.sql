-- 0001: the dataset catalog.
-- datasets holds one row per dataset name; deleted_at hides it from list
-- and SQL until `lakehouse gc` purges it.
CREATE TABLE datasets (
    name           VARCHAR PRIMARY KEY,
    dataset_id     VARCHAR NOT NULL,
    latest_version INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    deleted_at     TIMESTAMPTZ
);

-- One row per version; manifest is the exact JSON also written to
-- storage under _catalog/manifests/<name>/<version>.json.
CREATE TABLE dataset_versions (
    name               VARCHAR NOT NULL,
    version            INTEGER NOT NULL,
    schema_fingerprint VARCHAR NOT NULL,
    content_hash       VARCHAR NOT NULL,
    idempotency_key    VARCHAR,
    row_count          BIGINT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    manifest           VARCHAR NOT NULL,
    PRIMARY KEY (name, version)
);

-- The object keys each version references (gc keeps these).
CREATE TABLE dataset_files (
    name    VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    key     VARCHAR NOT NULL,
    bytes   BIGINT NOT NULL,
    rows    BIGINT NOT NULL,
    sha256  VARCHAR NOT NULL
);
