"""Use cases of the incident tracker: commands and queries on the event-sourced aggregates."""
