"""Errors shared across the project. Connector errors live in connectors/errors.py."""


class OtklikError(Exception):
    """Base of every error we raise on purpose."""


class ConfigError(OtklikError):
    """A settings or data file is invalid; the message names file and line."""


class StorageUnavailable(OtklikError):
    """The database cannot be reached or opened."""


class QueueUnavailable(OtklikError):
    """Redis cannot be reached or started."""


class InvalidTransition(OtklikError):
    """A case was asked to move along an edge its state machine does not have."""


class NotFound(OtklikError):
    """A requested object does not exist."""


class PermissionDenied(OtklikError):
    """The user's role does not allow the action."""
