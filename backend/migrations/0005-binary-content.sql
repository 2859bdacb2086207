-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- 0005-binary-content.sql: the content of Binary resources (scans, PDFs, images), kept apart
-- from their JSON, once per SHA-256, in chunks.
--
-- content        one row per content.  sha256 (lowercase hex) is its key, NULL while it is
--            being written (a pending content: chunks are added to it in transactions of their
--            own as the bytes come, so that the writer is never held for a whole upload; it
--            gets its key, or is dropped when a content of the same SHA-256 is there already,
--            once every byte is in).  A pending content is never the content of a version, so
--            half an upload is never seen.  sha1 is the SHA-1 in base64 (what R4's
--            Attachment.hash holds), size the bytes, chunk_size the bytes of every chunk but
--            the last.  touched (µs since the epoch) is when a pending content last got
--            chunks, or when a complete one was last stored or found again: the writer drops
--            pending contents and contents no version holds once they are older than an hour
--            (what a crash or a failed write leaves).
-- content_chunk  the bytes: chunk seq (0, 1, 2…) of content cid, chunk_size bytes each (the
--            last one fewer).
-- version.content  the content a Binary version holds (NULL: none, and for every other type).
--            Versions name contents by cid; a content that a version holds is never removed.
CREATE TABLE content (
  cid         INTEGER PRIMARY KEY,
  sha256      TEXT UNIQUE,
  sha1        TEXT,
  size        INTEGER NOT NULL DEFAULT 0,
  chunk_size  INTEGER NOT NULL,
  touched     INTEGER NOT NULL
);
CREATE TABLE content_chunk (
  cid   INTEGER NOT NULL,
  seq   INTEGER NOT NULL,
  data  BLOB NOT NULL,
  PRIMARY KEY (cid, seq)
);
ALTER TABLE version ADD COLUMN content INTEGER;
-- (partial: only Binary versions with content have an entry, so other writes pay nothing)
CREATE INDEX version_by_content ON version (content) WHERE content IS NOT NULL;
