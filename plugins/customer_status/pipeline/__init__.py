"""One nightly run, step by step (``nightly``), and the in-process Airflow runner (``local``)."""
