"""The long-running process: what it starts besides the chat platforms."""

import time

from bot.chat.runner import Runner
from bot.chat.settings import PlatformSettings
from bot.services import Services


def test_run_builds_the_customer_matcher_before_the_first_owner_question(demo_services: Services) -> None:
    runner = Runner(demo_services, PlatformSettings(), http=False, sync=False, tick=lambda services, channels: None)
    assert demo_services.customer_index.builds == 0
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while demo_services.customer_index.builds == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert demo_services.customer_index.builds == 1
        reply = runner.bot.router.handle("/owner acme", demo_services.directory.find_person("amy"))
        assert "Amy Zhang" in reply.model_dump_json()
        assert demo_services.customer_index.builds == 1  # the question used the warm index
    finally:
        runner.stop()
