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

# Service directory, service referrals and the rights package.
from amparo.cases.actions.rights import *  # noqa: E402, F403
from amparo.cases.actions.rights import __all__ as _rights_all  # noqa: E402
from amparo.cases.actions.services import *  # noqa: E402, F403
from amparo.cases.actions.services import __all__ as _services_all  # noqa: E402

__all__ += [*_services_all, *_rights_all]

# Justice events, interviews, preservation requests and service providers.
from amparo.cases.actions.justice import *  # noqa: E402, F403
from amparo.cases.actions.justice import __all__ as _justice_all  # noqa: E402

__all__ += list(_justice_all)
