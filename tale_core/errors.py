"""Typed provider errors with messages a user understands.

Every provider maps its SDK's exceptions onto these, so the engine, the CLI and the pages handle one
small set. ``retryable`` says whether retrying later can help; ``retry_after`` carries the server's
Retry-After in seconds when it sent one.
"""

from __future__ import annotations


class TaleError(Exception):
    """Base of every error this library raises on purpose."""


class ProviderError(TaleError):
    kind = "provider_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.detail = detail

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "message": self.message,
            "provider": self.provider,
            "status": self.status,
            "retry_after": self.retry_after,
        }

    def __str__(self) -> str:  # what users see
        return self.message


class AuthError(ProviderError):
    """Missing or rejected API key."""

    kind = "auth"


class RateLimitError(ProviderError):
    kind = "rate_limit"
    retryable = True


class ProviderTimeout(ProviderError):
    kind = "timeout"
    retryable = True


class ContextTooLong(ProviderError):
    kind = "context_too_long"


class ServerError(ProviderError):
    kind = "server_error"
    retryable = True


class ProviderUnreachable(ProviderError):
    """Connection refused, DNS failure, server not running."""

    kind = "connection"
    retryable = True


class BadResponse(ProviderError):
    """The server answered with something we cannot read."""

    kind = "bad_response"


class InvalidRequest(ProviderError):
    """The provider rejected the request's parameters (other than the context length)."""

    kind = "invalid_request"


class ModelNotFound(ProviderError):
    kind = "model_not_found"


class UnknownModel(TaleError):
    """A model spec we cannot resolve (bad provider prefix, optional model not installed)."""


ERROR_KINDS = {
    cls.kind: cls
    for cls in (
        ProviderError,
        AuthError,
        RateLimitError,
        ProviderTimeout,
        ContextTooLong,
        ServerError,
        ProviderUnreachable,
        BadResponse,
        InvalidRequest,
        ModelNotFound,
    )
}
