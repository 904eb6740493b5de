"""One module per chat platform, behind base.Platform (sending) and base.Receiver
(its webhook); adding one touches only this package."""

from __future__ import annotations

from ..settings import Settings
from .base import Platform, Receiver
from .discord import Discord
from .feishu import Feishu
from .kook import Kook
from .telegram import Telegram

TARGETS = ("discord", "telegram", "feishu", "kook")
# Platforms that deliver to POST /webhooks/{name}.
SOURCES = ("kook", "telegram")
# Targets that are sent to through the route's own URL (the others as msglog's bot).
URL_TARGETS = ("discord", "feishu")


def senders(settings: Settings) -> dict[str, Platform]:
    return {
        "discord": Discord(),
        "feishu": Feishu(),
        "telegram": Telegram(settings),
        "kook": Kook(settings),
    }


def receivers(settings: Settings) -> dict[str, Receiver]:
    """Each source platform's receiving side, by the name its webhook route carries."""
    found: dict[str, Receiver] = {"kook": Kook(settings), "telegram": Telegram(settings)}
    assert tuple(found) == SOURCES
    return found
