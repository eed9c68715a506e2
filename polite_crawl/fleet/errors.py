"""What can go wrong with the fleet's shared state."""

from __future__ import annotations


class FleetError(Exception):
    """Redis could not be reached, did not answer in time, or answered something unusable: the
    message names the key and what was wrong. Whatever waited on it is not sent."""
