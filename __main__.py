"""``python -m protoproof``."""

from .cli import main

raise SystemExit(main())
