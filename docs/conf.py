"""Sphinx configuration. Built with warnings as errors by `make docs` (part of `make test`)."""

project = "polite_crawl"
author = "polite_crawl developers"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "alabaster"
# Nothing is fetched while building: no intersphinx, no remote images.
