"""`python -m badgekit` is the `badgekit` command."""
from badgekit.cli import main

main()
