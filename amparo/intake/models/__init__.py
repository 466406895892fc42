"""Intake models, split by area so that each stays small: channels and their conversations
(`channels.py`), public reports, receipts and follow-up messages (`reports.py`), international
referrals and industry organisations with their API keys (`industry.py`)."""

from amparo.intake.models.channels import *  # noqa: F403
from amparo.intake.models.industry import *  # noqa: F403
from amparo.intake.models.reports import *  # noqa: F403
