"""Shared core: settings, records, topics, metrics, clients, logging."""
