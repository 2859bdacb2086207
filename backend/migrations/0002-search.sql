-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- 0002-search.sql: what FHIR search needs beyond the index tables of 0001.
--
-- resource_by_type: the resources of one type in rid order (an index entry is (tid, rowid)),
--            so that a search whose conditions match many resources can walk them in the
--            order of its pages and stop once a page is full, instead of collecting every
--            match first (see charta-search-sqlite.c).
-- fts:      full text for _text (the narrative, as plain text) and _content (every string of
--            the resource); rowid = rid, current versions only, as the index tables.
CREATE INDEX resource_by_type ON resource (tid);
-- (detail=column: no word positions, so no phrase queries, which search does not make;
-- columnsize=0: no row sizes, which only ranking would use; the index is smaller and cheaper
-- to write)
CREATE VIRTUAL TABLE fts USING fts5 (narrative, content, detail = column, columnsize = 0,
                                     tokenize = 'unicode61 remove_diacritics 2');

-- idx_composite_value: the second component's value too (a number or quantity keeps its value
--            in c2_lo), so that code-value-quantity=…$gt100 reads only the rows above 100.
DROP INDEX idx_composite_value;
CREATE INDEX idx_composite_value ON idx_composite (pid, c1_b, c1_a, c2_lo);
