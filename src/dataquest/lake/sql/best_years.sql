-- Best year per pr series (the report's input: the rows of pr.data.0.Current): the year with the largest sum of Q01..Q04 (a series without quarterly rows: its
-- annual Q05 rows, basis 'annual'), summed exactly as decimals; a tie goes to the earliest year.
WITH pr AS (
    SELECT series_id, year, period, CAST(value AS DECIMAL(38, 6)) AS value
    FROM observations
    WHERE survey = 'pr' AND source_file = 'pr.data.0.Current'
),
kinds AS (
    SELECT series_id, MAX(CASE WHEN period IN ('Q01', 'Q02', 'Q03', 'Q04') THEN 1 ELSE 0 END) AS quarterly
    FROM pr
    GROUP BY series_id
),
sums AS (
    SELECT p.series_id, p.year, SUM(p.value) AS value,
           CASE WHEN k.quarterly = 1 THEN 'quarters' ELSE 'annual' END AS basis
    FROM pr AS p
    JOIN kinds AS k ON p.series_id = k.series_id
    WHERE (k.quarterly = 1 AND p.period IN ('Q01', 'Q02', 'Q03', 'Q04'))
       OR (k.quarterly = 0 AND p.period = 'Q05')
    GROUP BY p.series_id, p.year, k.quarterly
),
ranked AS (
    SELECT series_id, year, value, basis,
           ROW_NUMBER() OVER (PARTITION BY series_id ORDER BY value DESC, year ASC) AS place
    FROM sums
)
SELECT series_id, year, value, basis
FROM ranked
WHERE place = 1
ORDER BY series_id
