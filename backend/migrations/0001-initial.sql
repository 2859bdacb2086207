-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- 0001-initial.sql: the first schema of a Charta store.
--
-- Applied by charta-store-sqlite.c inside one transaction, which then sets PRAGMA user_version
-- to this file's number and PRAGMA application_id to Charta's.
--
-- resource   one row per resource: its type, id and current version (deleted = the current
--            version is a tombstone).
-- version    one immutable row per version of every resource; seq is the store-wide order of
--            writes (history is newest first by seq, and its cursors are seqs); body is the
--            exact JSON a read returns (NULL for a tombstone); provenance is the Provenance
--            resource that records this version.
-- rtype, param   dictionaries: resource type names and (resource type, search parameter code)
--            pairs as small integers, so index rows stay compact and do not depend on the
--            order of the generated model.
-- idx_*      search-index rows of current versions only (superseded and deleted versions have
--            none), one table per search type.  Dates are inclusive [low, high] ranges in µs
--            since the epoch; numbers and quantities carry the range their precision implies.
--            A composite row holds up to three components c1..c3: a/b are texts (token:
--            system/code, string: normalized/text, uri: the uri, reference: type or url/id,
--            quantity: unit system/code) and lo/hi numbers (date: µs, number and quantity: the
--            range).
--            An index row's rowid is (rid << 20) + n: the rows of one resource are one rowid
--            range, which is how they are found and removed (no index on rid needed).

CREATE TABLE rtype (
  tid   INTEGER PRIMARY KEY,
  name  TEXT NOT NULL UNIQUE
);

CREATE TABLE param (
  pid   INTEGER PRIMARY KEY,
  type  TEXT NOT NULL,
  code  TEXT NOT NULL,
  UNIQUE (type, code)
);

CREATE TABLE resource (
  rid      INTEGER PRIMARY KEY,
  tid      INTEGER NOT NULL REFERENCES rtype (tid),
  id       TEXT NOT NULL,
  version  INTEGER NOT NULL,
  deleted  INTEGER NOT NULL DEFAULT 0,
  UNIQUE (tid, id)
);

CREATE TABLE version (
  seq           INTEGER PRIMARY KEY,
  rid           INTEGER NOT NULL REFERENCES resource (rid),
  tid           INTEGER NOT NULL REFERENCES rtype (tid),
  version       INTEGER NOT NULL,
  method        INTEGER NOT NULL,          -- 0 create, 1 update, 2 delete
  last_updated  INTEGER NOT NULL,
  body          BLOB,
  provenance    INTEGER REFERENCES resource (rid),
  UNIQUE (rid, version)
);
CREATE INDEX version_by_type ON version (tid, seq);
CREATE INDEX version_by_time ON version (last_updated);

CREATE TABLE idx_string (
  pid   INTEGER NOT NULL,
  rid   INTEGER NOT NULL,
  norm  TEXT,
  text  TEXT
);
CREATE INDEX idx_string_value ON idx_string (pid, norm);

CREATE TABLE idx_token (
  pid          INTEGER NOT NULL,
  rid          INTEGER NOT NULL,
  system       TEXT,
  code         TEXT,
  display      TEXT,
  type_system  TEXT,
  type_code    TEXT
);
CREATE INDEX idx_token_value ON idx_token (pid, code, system);

CREATE TABLE idx_date (
  pid   INTEGER NOT NULL,
  rid   INTEGER NOT NULL,
  low   INTEGER NOT NULL,
  high  INTEGER NOT NULL
);
CREATE INDEX idx_date_value ON idx_date (pid, low, high);

CREATE TABLE idx_number (
  pid    INTEGER NOT NULL,
  rid    INTEGER NOT NULL,
  value  REAL,
  low    REAL,
  high   REAL
);
CREATE INDEX idx_number_value ON idx_number (pid, low, high);

CREATE TABLE idx_quantity (
  pid     INTEGER NOT NULL,
  rid     INTEGER NOT NULL,
  value   REAL,
  low     REAL,
  high    REAL,
  system  TEXT,
  code    TEXT,
  unit    TEXT
);
CREATE INDEX idx_quantity_value ON idx_quantity (pid, code, low, high);

CREATE TABLE idx_reference (
  pid       INTEGER NOT NULL,
  rid       INTEGER NOT NULL,
  type      TEXT,
  id        TEXT,
  version   TEXT,
  url       TEXT,
  system    TEXT,   -- Reference.identifier.system
  value     TEXT    -- Reference.identifier.value
);
CREATE INDEX idx_reference_value ON idx_reference (pid, id, type);
CREATE INDEX idx_reference_url ON idx_reference (pid, url) WHERE url IS NOT NULL;

CREATE TABLE idx_uri (
  pid  INTEGER NOT NULL,
  rid  INTEGER NOT NULL,
  uri  TEXT
);
CREATE INDEX idx_uri_value ON idx_uri (pid, uri);

CREATE TABLE idx_composite (
  pid    INTEGER NOT NULL,
  rid    INTEGER NOT NULL,
  c1_a, c1_b, c1_lo, c1_hi,
  c2_a, c2_b, c2_lo, c2_hi,
  c3_a, c3_b, c3_lo, c3_hi
);
CREATE INDEX idx_composite_value ON idx_composite (pid, c1_b, c1_a);
