-- Nexmark q14: a filter and computed columns. The benchmark's count_char
-- user function is written as CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')),
-- and HOUR(date_time) as EXTRACT(HOUR FROM date_time).
--
-- Run with: sluice bench nexmark --query q14 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql). cli/nexmark/ holds a copy that the binary embeds; cli's tests
-- fail when the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE TABLE nexmark_q14 (auction BIGINT, bidder BIGINT, price DECIMAL(23,3), bidTimeType STRING,
  date_time TIMESTAMP(3), extra STRING, c_counts BIGINT)
WITH (${SINK});
INSERT INTO nexmark_q14
SELECT
  auction,
  bidder,
  0.908 * price AS price,
  CASE
    WHEN EXTRACT(HOUR FROM date_time) >= 8 AND EXTRACT(HOUR FROM date_time) <= 18 THEN 'dayTime'
    WHEN EXTRACT(HOUR FROM date_time) <= 6 OR EXTRACT(HOUR FROM date_time) >= 20 THEN 'nightTime'
    ELSE 'otherTime'
  END AS bidTimeType,
  date_time,
  extra,
  CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')) AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
