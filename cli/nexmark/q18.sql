-- Nexmark q18: each bidder's latest bid on each auction (deduplication,
-- keeping the last row per key: an updating result).
--
-- Run with: sluice bench nexmark --query q18 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql); the sink must take updates, so only --sink blackhole works.
-- cli/nexmark/ holds a copy that the binary embeds; cli's tests fail when
-- the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE TABLE nexmark_q18 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SINK});
INSERT INTO nexmark_q18
SELECT auction, bidder, price, channel, url, date_time, extra FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY date_time DESC) AS rank_number
  FROM bid
) WHERE rank_number <= 1;
