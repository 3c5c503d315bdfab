"""Aggregation (summary.csv), the answer and the HTML report.

Import the module that does the job (`frbench.report.summary`, `.html`, ...): this package imports
nothing, because the workflow reads `frbench.report.figure_names` while Snakemake parses it, on every
run, and the report's modules bring pandas, scipy and matplotlib (about two seconds).
"""
