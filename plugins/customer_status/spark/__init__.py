"""The Spark engine: a local cluster (cluster.py) and a night built on it (night.py)."""
