"""The error tree, and what each error means at the edge (HTTP status, Mastercard ReasonCode).

    TfsError                          every error the service answers with
    ├── GatewayError                  Source "Gateway": what Mastercard's API gateway would answer
    │   ├── InvalidAuthHeader         400 INVALID_AUTH_HEADER
    │   └── AuthenticationFailed      401 AUTHENTICATION_FAILED (one Description per cause)
    │       ├── UnknownConsumerKey, RevokedConsumerKey
    │       ├── SignatureMismatch, BodyHashMismatch
    │       ├── StaleTimestamp, NonceReused
    │       └── ForeignAuthParameter  a non-OAuth parameter in the header, or one in both places
    │   └── (the connection, answered by tfs.api.server before any route runs)
    │       ├── RequestTimeout        408 a head or a body stopped arriving
    │       ├── UriTooLong            414
    │       ├── HeadTooLarge          431
    │       └── TooManyConnections    503, Recoverable, Retry-After
    └── ServiceError                  Source "rewards-order-management"
        ├── InvalidClientId           401 the credential may not act for this vendor or route
        ├── ValidationFailed          400 one item per structural fault (an import document's
        │                             faults carry the catalog's Source and their path)
        ├── InvalidRequestBody        400 not a JSON array of objects
        ├── RequestTooLarge           413
        ├── UnsupportedMediaType      415
        ├── OrderNotFound             404
        ├── VendorNotFound            404 (placing an order for an unknown vendor: 400, see below)
        ├── OrderAlreadyExists        409
        ├── IdempotencyKeyReused      422
        ├── IdempotencyKeyInProgress  409
        ├── RouteNotFound, MethodNotAllowed
        ├── RateLimitExceeded         429, Recoverable, Retry-After
        ├── ServiceUnavailable        503, Recoverable
        ├── (the catalog: Source "mrs-catalog-api", tfs/catalog)
        │   ├── CatalogClientNotEntitled  401 INVALID_CLIENT_ID not a credential of the program
        │   ├── MissingProgramId          400 MISSING_REQUIRED_FIELD
        │   ├── InvalidCatalogParameter   400 INVALID_FIELD_VALUE (Description names it)
        │   ├── UnknownCatalog            400 INVALID_INPUT
        │   └── CatalogNotFound           404 the program has no catalog to export
        └── (operators' commands, `tfs webhooks` / `tfs events`)
            ├── InvalidWebhookUrl     400 not http(s), or no host that resolves
            ├── SubscriptionNotFound, DeliveryNotFound  404
            └── DeliveryNotDead       409 only a dead-lettered delivery is replayed alone

Code below the HTTP edge raises these; one handler renders every one of them in the Mastercard
envelope. Per-order outcomes of a status update (1001..1005) are not errors of the request: they
are `domain.orders.OrderRejected` and travel inside a 200.
"""

from __future__ import annotations

from dataclasses import dataclass

GATEWAY = "Gateway"
ORDER_MANAGEMENT = "rewards-order-management"
CATALOG = "mrs-catalog-api"


@dataclass(frozen=True)
class ErrorItem:
    """One entry of `Errors.Error[]`."""

    source: str
    reason_code: str
    description: str
    recoverable: bool = False
    details: str | None = None

    def to_json(self) -> dict[str, object]:
        item: dict[str, object] = {
            "Source": self.source,
            "ReasonCode": self.reason_code,
            "Description": self.description,
            "Recoverable": self.recoverable,
        }
        if self.details is not None:
            item["Details"] = self.details
        return item


class TfsError(Exception):
    """Base of every error the service answers with; carries its HTTP status and ReasonCode."""

    status = 500
    reason_code = "INTERNAL_SERVER_ERROR"
    source = ORDER_MANAGEMENT
    recoverable = False
    default_description = "Internal error."

    def __init__(self, description: str | None = None, *, details: str | None = None) -> None:
        self.description = description or self.default_description
        self.details = details
        super().__init__(self.description)

    @property
    def items(self) -> list[ErrorItem]:
        return [
            ErrorItem(
                self.source, self.reason_code, self.description, self.recoverable, self.details
            )
        ]

    @property
    def headers(self) -> dict[str, str]:
        return {}


class GatewayError(TfsError):
    source = GATEWAY


class InvalidAuthHeader(GatewayError):
    status = 400
    reason_code = "INVALID_AUTH_HEADER"
    default_description = "Authorization header is missing or malformed."


class AuthenticationFailed(GatewayError):
    status = 401
    reason_code = "AUTHENTICATION_FAILED"
    default_description = "Authentication failed."


class UnknownConsumerKey(AuthenticationFailed):
    default_description = "Unknown consumer key."


class RevokedConsumerKey(AuthenticationFailed):
    default_description = "The consumer key has been revoked."


class SignatureMismatch(AuthenticationFailed):
    default_description = "OAuth signatures did not match."


class BodyHashMismatch(AuthenticationFailed):
    default_description = "OAuth body hash does not match the request body."


class StaleTimestamp(AuthenticationFailed):
    default_description = "OAuth timestamp is outside the accepted window."


class ForeignAuthParameter(AuthenticationFailed):
    default_description = "The Authorization header may hold only OAuth protocol parameters."


class NonceReused(AuthenticationFailed):
    default_description = "OAuth nonce has already been used."


class RequestTimeout(GatewayError):
    status = 408
    reason_code = "REQUEST_TIMEOUT"
    recoverable = True
    default_description = "The request did not arrive in time."


class UriTooLong(GatewayError):
    status = 414
    reason_code = "URI_TOO_LONG"
    default_description = "The request target is too long."


class HeadTooLarge(GatewayError):
    status = 431
    reason_code = "REQUEST_HEADER_FIELDS_TOO_LARGE"
    default_description = "The request line and headers are too large."


class TooManyConnections(GatewayError):
    status = 503
    reason_code = "SERVICE_UNAVAILABLE"
    recoverable = True
    default_description = "Too many open connections; retry later."

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class ServiceError(TfsError):
    source = ORDER_MANAGEMENT


class InvalidClientId(ServiceError):
    status = 401
    reason_code = "INVALID_CLIENT_ID"
    default_description = "ClientId doesn't have access to the requested service."


class ValidationFailed(ServiceError):
    """Structural faults of a request: one `ErrorItem` per fault."""

    status = 400
    reason_code = "INVALID_REQUEST"
    default_description = "The request is invalid."

    def __init__(self, faults: list[ErrorItem]) -> None:
        self.faults = faults
        super().__init__(faults[0].description if faults else None)

    @property
    def items(self) -> list[ErrorItem]:
        return list(self.faults)


class InvalidRequestBody(ServiceError):
    status = 400
    reason_code = "INVALID_REQUEST_BODY"
    default_description = "Request body must be a JSON array of order objects."


class RequestTooLarge(ServiceError):
    status = 413
    reason_code = "REQUEST_TOO_LARGE"
    default_description = "Request is too large."


class UnsupportedMediaType(ServiceError):
    status = 415
    reason_code = "UNSUPPORTED_MEDIA_TYPE"
    default_description = "Content-Type must be application/json."


class OrderNotFound(ServiceError):
    status = 404
    reason_code = "ORDER_NOT_FOUND"
    default_description = "Order not found."


class UnknownVendor(ServiceError):
    status = 400
    reason_code = "INVALID_FIELD_VALUE_VENDOR_ID"
    default_description = "VendorId is not a known vendor."


class OrderAlreadyExists(ServiceError):
    status = 409
    reason_code = "ORDER_ALREADY_EXISTS"
    default_description = "A different order with this mcOrderId already exists."


class IdempotencyKeyReused(ServiceError):
    status = 422
    reason_code = "IDEMPOTENCY_KEY_REUSED"
    default_description = "Idempotency-Key was already used with a different request."


class IdempotencyKeyInProgress(ServiceError):
    status = 409
    reason_code = "IDEMPOTENCY_KEY_IN_PROGRESS"
    recoverable = True
    default_description = "A request with this Idempotency-Key is still being processed."

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class RouteNotFound(ServiceError):
    status = 404
    reason_code = "NOT_FOUND"
    default_description = "Not Found"


class MethodNotAllowed(ServiceError):
    status = 405
    reason_code = "METHOD_NOT_ALLOWED"
    default_description = "Method not allowed."


class RateLimitExceeded(ServiceError):
    status = 429
    reason_code = "RATE_LIMIT_EXCEEDED"
    recoverable = True
    default_description = "Too many requests for this credential; retry after the given delay."

    def __init__(self, description: str | None = None, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(description)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(ServiceError):
    status = 503
    reason_code = "SERVICE_UNAVAILABLE"
    recoverable = True
    default_description = "The service is temporarily unavailable; retry later."

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class InvalidWebhookUrl(ServiceError):
    status = 400
    reason_code = "INVALID_WEBHOOK_URL"
    default_description = "A webhook URL must be http(s) with a host that resolves."


class SubscriptionNotFound(ServiceError):
    status = 404
    reason_code = "SUBSCRIPTION_NOT_FOUND"
    default_description = "No such webhook subscription."


class DeliveryNotFound(ServiceError):
    status = 404
    reason_code = "DELIVERY_NOT_FOUND"
    default_description = "No such webhook delivery."


class DeliveryNotDead(ServiceError):
    status = 409
    reason_code = "DELIVERY_NOT_DEAD"
    default_description = "Only a dead-lettered delivery can be replayed on its own."


class CatalogError(TfsError):
    source = CATALOG


class CatalogClientNotEntitled(CatalogError):
    status = 401
    reason_code = "INVALID_CLIENT_ID"
    default_description = "ClientId doesn't have access to the requested service."


class MissingProgramId(CatalogError):
    status = 400
    reason_code = "MISSING_REQUIRED_FIELD"
    default_description = "program_id parameter cannot be null."


class InvalidCatalogParameter(CatalogError):
    status = 400
    reason_code = "INVALID_FIELD_VALUE"
    default_description = "A parameter has an invalid value."


class UnknownCatalog(CatalogError):
    status = 400
    reason_code = "INVALID_INPUT"
    default_description = "Invalid Reward Catalog HierarchyId."


class CatalogNotFound(CatalogError):
    status = 404
    reason_code = "CATALOG_NOT_FOUND"
    default_description = "This program has no catalog."


class ConfigurationError(Exception):
    """Settings that must not be used (for example demo keys in production)."""
