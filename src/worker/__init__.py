"""Celery workers: background work (segment counts, bulk jobs, flag recomputes) for the
production stack. Tasks are thin: ids in, one service call."""
