"""Contract-testing and conformance suite for process-run APIs.

The Python API the CLI is a thin shell over: ``run`` checks APIs and returns a
``RunResult``; ``write_results`` turns it into ``results.json`` and ``junit.xml``.
"""

__version__ = "0.1.0"
