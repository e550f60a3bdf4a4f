-- 0003: keys that relate datasets.
-- A dataset's declared key (its columns; overrides the key the first
-- upsert by key set in its manifests) and its foreign keys, each as JSON
-- text: a short list read whole, never queried by part.
CREATE TABLE dataset_keys (
    name         VARCHAR PRIMARY KEY,
    key_columns  VARCHAR,
    foreign_keys VARCHAR,
    updated_at   TIMESTAMPTZ NOT NULL
);
