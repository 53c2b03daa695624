"""Training: a run's configuration, the loop and its events, evaluation, the full-batch solvers, data-parallel runs."""
