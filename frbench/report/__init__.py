"""Aggregation (summary.csv) and the HTML report."""

from .html import render_report
from .summary import gather, seed_table

__all__ = ["gather", "render_report", "seed_table"]
