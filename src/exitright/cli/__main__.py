"""``python -m exitright.cli``."""

from exitright.cli import main

main()
