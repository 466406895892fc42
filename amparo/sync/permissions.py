from enum import StrEnum


class SyncPermission(StrEnum):
    NODE_MANAGE = "sync:node:manage"
    CONFLICT_RESOLVE = "sync:conflict:resolve"


class SyncAudit(StrEnum):
    NODE_REGISTER = "sync:node:register"
    NODE_REVOKE = "sync:node:revoke"
    NODE_INIT = "sync:node:init"
    NODE_WIPED = "sync:node:wiped"
    PUSH_APPLY = "sync:change:push_apply"
    PULL_APPLY = "sync:change:pull_apply"
    CONFLICT_OPEN = "sync:conflict:open"
    CONFLICT_RESOLVE = "sync:conflict:resolve"
    WIPE = "sync:node:wipe"
