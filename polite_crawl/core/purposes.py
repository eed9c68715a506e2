"""The purpose vocabulary (docs/purposes.md) and the kinds of request it is applied to.

At the bottom of the package: it imports nothing from polite_crawl, so that policies, signals
and settings can name purposes without importing the request context (which needs policies).
"""

from __future__ import annotations

from enum import Enum


class Purpose(str, Enum):
    """Declared purposes (contract vocabulary, see docs/purposes.md)."""

    SEARCH_INDEXING = "search-indexing"
    ARCHIVING = "archiving"
    RESEARCH = "research"
    AI_TRAINING = "ai-training"
    AI_INPUT = "ai-input"
    FACIAL_RECOGNITION = "facial-recognition"
    COMMERCIAL_DATA_COLLECTION = "commercial-data-collection"
    MONITORING = "monitoring"


class Kind(str, Enum):
    PAGE = "page"
    IMAGE = "image"
    FILE = "file"
