"""``python -m logistic_sgd``: the command line."""

from .cli import main

raise SystemExit(main())
