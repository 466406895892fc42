"""Observatory models, split by area: computed indicator values and DHIS2 mapping
(`indicators.py`), the national action tracker and training register (`tracker.py`), and research
extract requests (`extract.py`)."""

from amparo.observatory.models.extract import *  # noqa: F403
from amparo.observatory.models.indicators import *  # noqa: F403
from amparo.observatory.models.tracker import *  # noqa: F403
