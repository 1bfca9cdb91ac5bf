-- Nexmark q19: the ten highest bids of each auction (Top-N, an updating
-- result with the rank number).
--
-- Run with: sluice bench nexmark --query q19 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql); the sink must take updates, so only --sink blackhole works.
-- cli/nexmark/ holds a copy that the binary embeds; cli's tests fail when
-- the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE TABLE nexmark_q19 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING, rank_number BIGINT)
WITH (${SINK});
INSERT INTO nexmark_q19
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number
  FROM bid
) WHERE rank_number <= 10;
