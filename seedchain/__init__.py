"""The ``seedchain`` command line: one entry point that dispatches to each part."""
