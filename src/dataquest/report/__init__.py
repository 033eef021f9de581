"""The Part 3 report: read the inputs (:mod:`.datafile`, the population), compute with polars (:mod:`.analysis`),
shape the document (:mod:`.document`), render it as JSON, CSV, Markdown and HTML (:mod:`.render`, :mod:`.html`,
:mod:`.charts`, :mod:`.cells`, :mod:`.titles`), and read and write it in S3 (:mod:`.s3`). :mod:`.builder` is the
entry: what the report function, ``dataquest report`` and the embedded run call."""
