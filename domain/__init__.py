"""The incident tracker's domain: aggregates, their events and their rules.

Plain Python: imports only the standard library and ``eventsourcing.domain``.
"""
