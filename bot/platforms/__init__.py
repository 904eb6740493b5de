"""One module per chat platform, behind base.Platform; adding one touches only here."""

from __future__ import annotations

from ..settings import Settings
from .base import Platform
from .discord import Discord
from .feishu import Feishu
from .kook import Kook
from .telegram import Telegram

TARGETS = ("discord", "telegram", "feishu", "kook")
SOURCES = ("kook", "telegram")
# Targets that are sent to through the route's own URL (the others as msglog's bot).
URL_TARGETS = ("discord", "feishu")


def senders(settings: Settings) -> dict[str, Platform]:
    return {
        "discord": Discord(),
        "feishu": Feishu(),
        "telegram": Telegram(settings.telegram_api_base, settings.telegram_bot_token),
        "kook": Kook(settings.kook_api_base, settings.kook_bot_token),
    }
