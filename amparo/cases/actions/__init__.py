"""Every write to cases goes through the functions of this package (Zulip's zerver/actions): each takes
the acting user (or an audit Actor), checks the policy, runs in one transaction and writes its audit
entry there.

- core: cases, persons, notes, transitions, assignment, referrals and consent
- services: service referrals and the service directory
- justice: justice events, interviews, preservation requests
- relations: links and merges between cases
- rights: the victim rights information package
"""

from amparo.cases.actions.core import *  # noqa: F403
from amparo.cases.actions.core import __all__ as _core_all

__all__ = list(_core_all)
