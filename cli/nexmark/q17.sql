-- Nexmark q17: auction statistics per day, with FILTER (an unwindowed,
-- updating GROUP BY).
--
-- Run with: sluice bench nexmark --query q17 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql); the sink must take updates, so only --sink blackhole works.
-- cli/nexmark/ holds a copy that the binary embeds; cli's tests fail when
-- the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE TABLE nexmark_q17 (auction BIGINT, `day` STRING, total_bids BIGINT, rank1_bids BIGINT,
  rank2_bids BIGINT, rank3_bids BIGINT, min_price BIGINT, max_price BIGINT, avg_price DOUBLE,
  sum_price BIGINT)
WITH (${SINK});
INSERT INTO nexmark_q17
SELECT
  auction,
  DATE_FORMAT(date_time, 'yyyy-MM-dd') AS `day`,
  COUNT(*) AS total_bids,
  COUNT(*) FILTER (WHERE price < 10000) AS rank1_bids,
  COUNT(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
  COUNT(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
  MIN(price) AS min_price,
  MAX(price) AS max_price,
  AVG(price) AS avg_price,
  SUM(price) AS sum_price
FROM bid
GROUP BY auction, DATE_FORMAT(date_time, 'yyyy-MM-dd');
