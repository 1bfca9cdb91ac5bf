-- Unwindowed aggregation: bids per bidder, an updating result (issue 4's
-- "COUNT(*) GROUP BY bidder" figure). Not a numbered Nexmark query.
--
-- Run with: sluice bench nexmark --query agg_count [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql); the sink must take updates, so only --sink blackhole works.
-- cli/nexmark/ holds a copy that the binary embeds; cli's tests fail when
-- the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE TABLE nexmark_agg_count (bidder BIGINT, n BIGINT)
WITH (${SINK});
INSERT INTO nexmark_agg_count
SELECT bidder, COUNT(*) FROM bid GROUP BY bidder;
