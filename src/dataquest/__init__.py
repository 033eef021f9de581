"""dataquest: BLS time.series mirrored to S3, DataUSA population, and a polars report."""

__version__ = "0.1.0"
