"""Child process for the crash test: store 30 alerts, say so, keep trying to send, get killed.

Usage: ``python -m vibe.tests.trading_bot.notifications.crash_child DATA_DIR WEBHOOK_URL``
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from vibe.tests.trading_bot.notifications.helpers import make_notifier, numbered


async def main(data_dir: Path, url: str) -> None:
    notifier = make_notifier(data_dir, url)
    await notifier.start()
    for n in range(30):
        await notifier.notify(numbered(n))
    print("stored 30", flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
