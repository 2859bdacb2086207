-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- 0003-date-stat.sql: what the search planner knows of each date parameter's rows.
--
-- date_stat: per date parameter (pid), bounds that hold for every current resource: the most
--            rows one resource has (max_rows) and the widest [low, high] range of a row
--            (max_span, microseconds).  The writer raises them as it adds index rows and never
--            lowers them (a delete or an update leaves them as they were), so they may be
--            larger than the store's rows need, never smaller.  With them a date condition that
--            only bounds `high` ("ge2018") also bounds `low` (low >= 2018 - max_span), which the
--            value index (pid, low, high) can use, and two conditions on a parameter that has
--            one row per resource ("ge2018&lt2019") are one range of that index.
CREATE TABLE date_stat (
  pid       INTEGER PRIMARY KEY,
  max_rows  INTEGER NOT NULL,
  max_span  INTEGER NOT NULL
);
-- (a span past the integers, an open-ended period, comes out as a real: kept as the largest)
INSERT INTO date_stat (pid, max_rows, max_span)
  SELECT pid, max (n), min (max (span), 9223372036854775807)
  FROM (SELECT pid, rowid >> 20 AS rid, count(*) AS n,
               max (CASE WHEN typeof (high - low) = 'integer' THEN high - low
                         ELSE 9223372036854775807 END) AS span
        FROM idx_date GROUP BY pid, rid)
  GROUP BY pid;
