-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- 0002-search.sql: what FHIR search needs beyond the index tables of 0001.
--
-- resource_by_type: the resources of one type in rid order (an index entry is (tid, rowid)),
--            so that a search whose conditions match many resources can walk them in the
--            order of its pages and stop once a page is full, instead of collecting every
--            match first (see charta-search-sqlite.c).
CREATE INDEX resource_by_type ON resource (tid);
