-- Nexmark q7, its per-window part (the full q7 joins each window's
-- maximum back to its bids, which comes with joins): the highest price
-- in each 1-minute tumbling window.
--
-- Run with: sluice bench nexmark --query q7 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql). cli/nexmark/ holds a copy that the binary embeds; cli's tests
-- fail when the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (${SOURCE});
CREATE TABLE nexmark_q7 (maxprice BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3))
WITH (${SINK});
INSERT INTO nexmark_q7
SELECT MAX(price) AS maxprice, window_start, window_end
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
