"""Every error code the API can return, in one place (issue #25): the codes of mutation payloads
(``ErrorCode``) and those of the transport — ``errors[].extensions.code`` of a refused or failed
request. A code is a stable contract: it is never renamed or reused for something else; a new one
is added here (``tests/gongzhi/test_error_catalogue.py`` fails on a code the code base returns that
is not listed, and on docs/errors.md disagreeing with this list).

Each entry: the HTTP status it comes with (None: inside a 200 answer — a payload's ``errors`` or a
field's GraphQL error), and what it means, in English with the Chinese term.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from resolvers.errors import ErrorCode


class ApiErrorCode(enum.StrEnum):
    # -- in mutation payloads and query fields (ErrorCode)
    INVALID = "INVALID"
    INVALID_ID = "INVALID_ID"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    TOO_LONG = "TOO_LONG"
    INVALID_ID_CARD = "INVALID_ID_CARD"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_PARENT = "INVALID_PARENT"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    FIRM_NOT_SERVING = "FIRM_NOT_SERVING"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    EVENTS_INTERRUPTED = "EVENTS_INTERRUPTED"
    PHOTO_REQUIRED = "PHOTO_REQUIRED"
    DUPLICATE_TICKET_NO = "DUPLICATE_TICKET_NO"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"
    # -- authentication and tenancy
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TENANT_REQUIRED = "TENANT_REQUIRED"
    TENANT_NOT_ALLOWED = "TENANT_NOT_ALLOWED"
    TENANT_SUSPENDED = "TENANT_SUSPENDED"
    PARTNER_NOT_ALLOWED = "PARTNER_NOT_ALLOWED"
    CLIENT_REVOKED = "CLIENT_REVOKED"
    PLATFORM_ADMIN_REQUIRED = "PLATFORM_ADMIN_REQUIRED"
    RATE_LIMITED = "RATE_LIMITED"
    # -- the request itself
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    DOCUMENT_TOO_COMPLEX = "DOCUMENT_TOO_COMPLEX"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    PERSISTED_QUERY_REQUIRED = "PERSISTED_QUERY_REQUIRED"
    PERSISTED_QUERY_REQUIRED_FOR_GET = "PERSISTED_QUERY_REQUIRED_FOR_GET"
    # -- the platform API's tenant operations
    EXISTS = "EXISTS"
    BAD_ARCHIVE = "BAD_ARCHIVE"
    BAD_DATA = "BAD_DATA"
    REVISION_MISMATCH = "REVISION_MISMATCH"
    USER_CLASH = "USER_CLASH"
    UNKNOWN_USER = "UNKNOWN_USER"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    # -- the server
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL = "INTERNAL"


@dataclass(frozen=True)
class Entry:
    status: int | None  # the HTTP status it comes with; None: inside a 200 answer
    meaning: str


_E = ApiErrorCode
CATALOGUE: dict[ApiErrorCode, Entry] = {
    _E.INVALID: Entry(None, "Input is invalid (输入无效); `field` names it. Also 400 outside GraphQL."),
    _E.INVALID_ID: Entry(None, "A global ID is malformed or of the wrong type (ID无效)."),
    _E.NOT_FOUND: Entry(None, "No such object, or not one you may see (不存在); also 404 outside GraphQL."),
    _E.FORBIDDEN: Entry(None, "You may not do this here (无权限); 403 outside GraphQL and for partner systems."),
    _E.CONFLICT: Entry(None, "The object changed meanwhile or already exists (冲突); reload and retry."),
    _E.TOO_LONG: Entry(None, "Text or a file exceeds its maximum size (过长); 413 outside GraphQL."),
    _E.INVALID_ID_CARD: Entry(None, "Not a valid resident ID card number (身份证号无效)."),
    _E.INVALID_PHONE: Entry(None, "Not a valid mobile phone number (手机号无效)."),
    _E.INVALID_PARENT: Entry(None, "That parent cannot hold this kind of area (上级区域无效)."),
    _E.INVALID_CURSOR: Entry(None, "A pagination cursor is malformed (游标无效)."),
    _E.INVALID_TRANSITION: Entry(None, "The workflow does not allow this step from the current state (状态不允许)."),
    _E.DUPLICATE_NAME: Entry(None, "Another area under the same parent has this name (同级区域重名)."),
    _E.FIRM_NOT_SERVING: Entry(None, "The property firm has no service contract for the case's compound on that "
                                     "date (该物业公司当日未服务该小区)."),
    _E.IDEMPOTENCY_KEY_REUSED: Entry(None, "This idempotencyKey was used for a different request "
                                           "(幂等键已用于其他请求)."),
    _E.EVENTS_INTERRUPTED: Entry(None, "A subscription stream may have missed events and ended (实时事件中断); "
                                       "re-read, then subscribe again."),
    _E.PHOTO_REQUIRED: Entry(None, "The case's category is resolved only with a photo of the result "
                                   "(办结须上传现场照片); upload one and pass it in photoIds."),
    _E.DUPLICATE_TICKET_NO: Entry(None, "This 12345 work-order number is already on another case of the street office "
                                        "(工单号重复); `field` is externalTicketNo."),
    _E.CONSENT_REQUIRED: Entry(None, "Personal data would go to a partner unit without any person's recorded "
                                     "consent (需本人同意, PIPL art. 23); record consents first."),
    _E.UNAUTHENTICATED: Entry(401, "No bearer token, or not of the form 'Bearer <token>' (未登录)."),
    _E.INVALID_TOKEN: Entry(401, "The token's signature, issuer, audience or claims are not accepted (令牌无效)."),
    _E.TOKEN_EXPIRED: Entry(401, "The token has expired (令牌已过期); get a new one."),
    _E.TENANT_REQUIRED: Entry(400, "The token allows several street offices: choose one with X-Gongzhi-Tenant "
                                   "(请选择街道)."),
    _E.TENANT_NOT_ALLOWED: Entry(403, "The token does not allow that street office (无权访问该街道)."),
    _E.TENANT_SUSPENDED: Entry(403, "The street office is suspended by the operator (街道已停用)."),
    _E.PARTNER_NOT_ALLOWED: Entry(403, "A partner system's token on a route partner systems may not use "
                                       "(WebSocket, uploads) (合作单位不可使用)."),
    _E.CLIENT_REVOKED: Entry(401, "The partner API client was revoked (客户端已吊销)."),
    _E.PLATFORM_ADMIN_REQUIRED: Entry(403, "The platform API needs a platform administrator's token (需平台管理员)."),
    _E.RATE_LIMITED: Entry(429, "More requests a minute than allowed (请求过于频繁); wait Retry-After seconds."),
    _E.BAD_REQUEST: Entry(400, "The request is not a valid GraphQL-over-HTTP request (请求格式错误): body, "
                               "query, variables, operationName or extensions."),
    _E.METHOD_NOT_ALLOWED: Entry(405, "A mutation over GET, or a method the route does not take (方法不允许)."),
    _E.NOT_ACCEPTABLE: Entry(406, "Accept allows neither application/graphql-response+json nor application/json "
                                  "(不可接受的响应类型)."),
    _E.UNSUPPORTED_MEDIA_TYPE: Entry(415, "The body's Content-Type is not the one the route takes (不支持的内容类型)."),
    _E.PAYLOAD_TOO_LARGE: Entry(413, "The body is larger than allowed (请求体过大)."),
    _E.REQUEST_TIMEOUT: Entry(408, "The headers or body did not arrive in time (请求超时); the connection is closed."),
    _E.GRAPHQL_PARSE_FAILED: Entry(400, "The document is not valid GraphQL syntax (语法错误)."),
    _E.GRAPHQL_VALIDATION_FAILED: Entry(400, "The document does not validate against the schema (校验失败)."),
    _E.TOO_MANY_TOKENS: Entry(400, "The document has more than 5,000 tokens (查询过长)."),
    _E.TOO_MANY_ALIASES: Entry(400, "The document uses more than 30 aliases (别名过多)."),
    _E.QUERY_TOO_DEEP: Entry(400, "The operation is nested deeper than 12 (嵌套过深)."),
    _E.QUERY_TOO_COSTLY: Entry(400, "The operation could cost more than 50,000 (查询代价过高); ask for smaller pages."),
    _E.DOCUMENT_TOO_COMPLEX: Entry(400, "Too many fields of one name in one selection set, or too many fields with "
                                        "fragments expanded (查询过于复杂)."),
    _E.PERSISTED_QUERY_NOT_FOUND: Entry(None, "The server does not know this persisted query's hash: send the "
                                              "document with it (持久化查询未找到)."),
    _E.PERSISTED_QUERY_HASH_MISMATCH: Entry(None, "The document does not hash to the given sha256Hash (哈希不符)."),
    _E.PERSISTED_QUERY_REQUIRED: Entry(None, "This server runs registered operations only (仅允许已登记的查询)."),
    _E.PERSISTED_QUERY_REQUIRED_FOR_GET: Entry(403, "A GET runs persisted queries only (GET 仅执行持久化查询): "
                                                    "send the document with POST, or its sha256Hash in "
                                                    "extensions.persistedQuery."),
    _E.EXISTS: Entry(None, "Platform API: a street office with that slug exists (已存在)."),
    _E.BAD_ARCHIVE: Entry(None, "Platform API: the tenant archive cannot be read (归档无效)."),
    _E.BAD_DATA: Entry(None, "Platform API: the data given cannot be loaded (数据无效)."),
    _E.REVISION_MISMATCH: Entry(None, "Platform API: the archive was made at another schema revision (版本不符)."),
    _E.USER_CLASH: Entry(None, "Platform API: an archive's user clashes with an existing account (账号冲突)."),
    _E.UNKNOWN_USER: Entry(401, "The token's user does not exist (用户不存在); in the platform API, no such user."),
    _E.USER_DEACTIVATED: Entry(401, "The token's account was deactivated by its street admin (账号已停用)."),
    _E.SERVICE_UNAVAILABLE: Entry(503, "The database could not serve the request now (服务暂不可用); retry after "
                                       "Retry-After seconds, mutations with the same idempotencyKey."),
    _E.INTERNAL: Entry(500, "An unexpected failure (服务器内部错误); quote the request id."),
}

assert set(CATALOGUE) == set(ApiErrorCode)
assert {c.value for c in ErrorCode} <= {c.value for c in ApiErrorCode}
