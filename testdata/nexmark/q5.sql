-- Nexmark q5, the HOP count per auction (the full q5, which joins these
-- counts to each window's maximum, comes with joins): bids per auction
-- in 10-second windows sliding every 2 seconds, emitted as each window
-- closes.
--
-- Run with: sluice bench nexmark --query q5 [--events N]
-- The bench command substitutes ${SOURCE} and ${SINK} as for q0 (see
-- q0.sql). cli/nexmark/ holds a copy that the binary embeds; cli's tests
-- fail when the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING,
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (${SOURCE});
CREATE TABLE nexmark_q5 (auction BIGINT, num BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3))
WITH (${SINK});
INSERT INTO nexmark_q5
SELECT auction, COUNT(*) AS num, window_start, window_end
FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY auction, window_start, window_end;
