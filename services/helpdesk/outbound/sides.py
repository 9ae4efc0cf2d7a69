"""What effects are carried out with: the helpdesk, the router (for reads), the settings, and the notifier."""

from __future__ import annotations

from dataclasses import dataclass

from services.helpdesk.desk.port import Helpdesk
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.firstcall.notifier import NotifierClient
from services.helpdesk.settings import HelpdeskSettings


@dataclass(frozen=True)
class Sides:
    helpdesk: Helpdesk
    router: RouterClient
    settings: HelpdeskSettings
    notifier: NotifierClient | None = None  # only with a feedback queue: feedback decided in RT
