"""Exceptions named (and nested) like redis-py's, so code written for redis-py can switch."""


class RedisError(Exception):
    pass


class ConnectionError(RedisError):
    pass


class TimeoutError(RedisError):
    pass


class AuthenticationError(ConnectionError):
    pass


class BusyLoadingError(ConnectionError):
    pass


class ResponseError(RedisError):
    pass


class DataError(RedisError):
    pass


class ReadOnlyError(ResponseError):
    pass


class NoPermissionError(ResponseError):
    pass


class ExecAbortError(ResponseError):
    pass


class WatchError(RedisError):
    """A watched key changed: EXEC did not run the transaction."""


class ClusterError(RedisError):
    """Raised by the client itself: too many redirects, no node serves a slot."""


class ClusterDownError(ClusterError, ResponseError):
    pass


class TryAgainError(ResponseError):
    pass


class ClusterCrossSlotError(ResponseError):
    """Keys of a command that cannot be split over slots hash to different slots."""


class AskError(ResponseError):
    pass


class MovedError(AskError):
    pass


class UncertainWriteError(ResponseError):
    """RedRaft proposed the write but could not confirm it was committed: it may or may not
    have been applied. The client never resends it."""
