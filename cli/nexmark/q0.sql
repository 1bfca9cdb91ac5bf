-- Nexmark q0: pass-through, every column of every bid.
--
-- Run with: sluice bench nexmark --query q0 [--events N] [--source generator|log]
--   [--sink blackhole|log]
-- The bench command substitutes two placeholders before running the script:
--   ${SOURCE}  the bid table's WITH options: the in-process generator
--              bounded by --events (counted over all three Nexmark tables;
--              the bid table sees 46 in every 50), or, with --source log,
--              the JSON topic nexmark_bid read to its end, which the
--              command fills with those bids beforehand
--   ${SINK}    the sink table's WITH options (a discarding sink, or a log
--              topic named after the query)
-- cli/nexmark/ holds a copy that the binary embeds; cli's tests fail when
-- the two differ.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SOURCE});
CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  date_time TIMESTAMP(3), extra STRING)
WITH (${SINK});
INSERT INTO nexmark_q0
SELECT auction, bidder, price, channel, url, date_time, extra FROM bid;
