"""The scenarios of bench/run.py, one module per kind of work measured."""
