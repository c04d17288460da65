"""Newsflow: event-driven news ingestion (ingest -> dedupe -> enrich -> index)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsflow")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
