"""BadgeKit: a self-hostable Open Badges platform API."""

__version__ = "0.1.0"
