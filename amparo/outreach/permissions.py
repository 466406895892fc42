"""Permissions and audit names of the outreach app, shaped `scope:resource:action`."""

from enum import StrEnum


class OutreachPermission(StrEnum):
    CONTENT_VIEW = "outreach:content:view"  # the staff content library (drafts included)
    CONTENT_EDIT = "outreach:content:edit"  # obj: a ContentItem (None: may create for the own agency)
    CONTENT_APPROVE = "outreach:content:approve"  # obj: a ContentItem; approve, return or retire
    SESSION_RECORD = "outreach:session:record"  # obj: a CommunitySession (None: may record new ones)
    SESSION_VIEW = "outreach:session:view"  # the register of community sessions
    REACH_VIEW = "outreach:reach:view"  # aggregate reach figures


class OutreachAudit(StrEnum):
    CONTENT_CREATE = "outreach:content:create"
    CONTENT_UPDATE = "outreach:content:update"
    TRANSLATION_SAVE = "outreach:translation:update"
    TRANSLATION_SUBMIT = "outreach:translation:submit"
    TRANSLATION_APPROVE = "outreach:translation:approve"
    TRANSLATION_RETURN = "outreach:translation:return"
    TRANSLATION_RETIRE = "outreach:translation:retire"
    SUBSCRIBER_START = "outreach:subscriber:create"
    SUBSCRIBER_UPDATE = "outreach:subscriber:update"
    SUBSCRIBER_STOP = "outreach:subscriber:stop"
    DISPATCH_QUEUE = "outreach:dispatch:create"
    DISPATCH_CANCEL = "outreach:dispatch:cancel"
    SESSION_CREATE = "outreach:session:create"
    SESSION_UPDATE = "outreach:session:update"
