//! The `events` table and its indexes, created when a store connects (idempotent).

/// Key of the transaction-scoped advisory lock that serialises appends (and schema creation):
/// "crm_log" in ASCII.
pub const APPEND_LOCK_KEY: i64 = 0x0063_726d_5f6c_6f67;

/// The schema. Times are exact nanoseconds since the Unix epoch split into seconds and
/// nanoseconds (the chain hash covers them exactly; `timestamptz` keeps microseconds);
/// `recorded_at` is the same instant for people and SQL tools.
pub const DDL: &str = "
CREATE TABLE IF NOT EXISTS events (
    position        bigint   PRIMARY KEY CHECK (position > 0),
    stream          text     NOT NULL,
    category        text     NOT NULL,
    revision        bigint   NOT NULL CHECK (revision >= 0),
    event_id        uuid     NOT NULL UNIQUE,
    event_type      text     NOT NULL,
    schema_version  integer  NOT NULL,
    actor           text     NOT NULL,
    occurred_s      bigint   NOT NULL,
    occurred_ns     integer  NOT NULL,
    recorded_s      bigint   NOT NULL,
    recorded_ns     integer  NOT NULL,
    recorded_at     timestamptz GENERATED ALWAYS AS
                        (to_timestamp(recorded_s::double precision + recorded_ns / 1e9::double precision)) STORED,
    correlation_id  uuid,
    causation_id    uuid,
    command_id      uuid,
    payload         bytea    NOT NULL,
    digest          bytea    NOT NULL CHECK (octet_length(digest) = 32),
    hash            bytea    NOT NULL CHECK (octet_length(hash) = 32),
    UNIQUE (stream, revision)
);
CREATE INDEX IF NOT EXISTS events_category ON events (category, position);
CREATE INDEX IF NOT EXISTS events_event_type ON events (event_type, position);
";

/// The columns a read returns, in the order `read::event_from_row` takes them.
pub(crate) const COLUMNS: &str = "position, stream, revision, event_id, event_type, \
    schema_version, actor, occurred_s, occurred_ns, recorded_s, recorded_ns, correlation_id, \
    causation_id, command_id, payload, hash";
