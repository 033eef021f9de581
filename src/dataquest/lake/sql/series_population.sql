-- PRS30006032 / Q01, every year of the report's input (pr.data.0.Current), with that year's population (null where the population has no row).
SELECT o.series_id, o.year, o.period, CAST(o.value AS DECIMAL(38, 6)) AS value, p.population
FROM observations AS o
LEFT JOIN population AS p ON p.year = o.year
WHERE o.survey = 'pr' AND o.source_file = 'pr.data.0.Current' AND o.series_id = 'PRS30006032' AND o.period = 'Q01'
ORDER BY o.year
