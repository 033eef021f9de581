-- Population mean and sample standard deviation (ddof=1), 2013..2018 inclusive, from silver.
SELECT
    2013 AS start_year,
    2018 AS end_year,
    COUNT(*) AS years,
    AVG(population) AS mean,
    STDDEV_SAMP(population) AS std
FROM population
WHERE year BETWEEN 2013 AND 2018
