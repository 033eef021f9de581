"""The lake: silver and gold Apache Iceberg tables over the mirrored surveys, kept current as files land.

- :mod:`~dataquest.lake.sources`: a survey's files, in a folder or in the mirror (``bls/<survey>/``);
- :mod:`~dataquest.lake.parse`: BLS files read exactly (values as published), one row per key;
- :mod:`~dataquest.lake.series`: the ``series`` table (titles, decoded codes) and ``footnotes``;
- :mod:`~dataquest.lake.expectations`: the rules every update checks;
- :mod:`~dataquest.lake.schema`, :mod:`~dataquest.lake.catalog`: the tables, and where they live (sqlite + a
  folder on a laptop, Glue + S3 in AWS);
- :mod:`~dataquest.lake.commit`: one atomic commit per table part, retried on conflict;
- :mod:`~dataquest.lake.silver`: one survey's update; :mod:`~dataquest.lake.gold`: the report's results;
- :mod:`~dataquest.lake.best`: the best year per series from silver's rows, in one pass of integer sums;
- :mod:`~dataquest.lake.query`: SQL over the tables, now or as of a time; ``sql/``: the named queries.
"""
