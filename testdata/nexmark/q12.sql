-- Nexmark q12: bids per bidder in 10-second processing-time windows
-- (PROCTIME(), Flink's processing-time attribute): a window closes as
-- the clock passes its end, with a later batch (or at the end of a
-- bounded input).
--
-- Run with: sluice bench nexmark --query q12 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql). cli/nexmark/ holds a copy that the binary embeds; cli's tests
-- fail when the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE VIEW bid_proc AS SELECT *, PROCTIME() AS p_time FROM bid;
CREATE TABLE nexmark_q12 (bidder BIGINT, bid_count BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3))
WITH (${SINK});
INSERT INTO nexmark_q12
SELECT bidder, COUNT(*) AS bid_count, window_start, window_end
FROM TABLE(TUMBLE(TABLE bid_proc, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
