"""otklik: citizens' messages from social networks and feedback platforms, answered on time."""

__version__ = "0.1.0"
