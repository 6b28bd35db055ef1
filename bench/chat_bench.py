"""What the chat layer costs on top of the command itself: rendering, WeCom crypto, and signed HTTP requests.

    python bench/chat_bench.py            # full run (~1-2 min on 2 cores)
    python bench/chat_bench.py --quick    # smoke size

Three figures, each a ratio against a baseline measured in the same run:
1. rendering one Reply for Slack (Block Kit), Telegram (HTML, split at 4,096) and WeCom (markdown, split at
   2,048 bytes) — baseline: the console's plain text (`blocks_to_text` + `bot.chat.adapters.console.render`);
2. opening a WeCom callback (msg_signature check + AES-256-CBC decrypt + XML parse) — baseline: the SHA-1
   signature alone;
3. signed requests through the real `mailroom serve` routes on 127.0.0.1 (Slack /help command: signature
   check + Bolt dispatch + ack; WeCom encrypted text: verify + decrypt + claim + 200; Telegram webhook /help:
   secret check + PTB + router + sendMessage to a local fake Bot API) — baseline: GET /healthz on the same
   server. Plus peak memory (ru_maxrss).
"""

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.chat.adapters import console, slack, telegram, wecom  # noqa: E402
from bot.chat.adapters.base import ChatBot  # noqa: E402
from bot.chat.adapters.wecom_crypto import WecomCrypto, signature  # noqa: E402
from bot.chat.platforms import Platforms  # noqa: E402
from bot.chat.settings import PlatformSettings  # noqa: E402
from bot.chat.web import WebServer  # noqa: E402
from bot.core.clock import Clock  # noqa: E402
from bot.core.config import load_config  # noqa: E402
from bot.core.reply import Button, Reply, blocks_to_text, bullets, context, fields, heading  # noqa: E402
from bot.demo.files import build_demo  # noqa: E402
from bot.services import Services  # noqa: E402
from tests.fakes.chat_helpers import (  # noqa: E402
    WECOM_AES_KEY,
    WECOM_CORP,
    WECOM_TOKEN,
    FakeApi,
    http,
    slack_headers,
    slack_responder,
    slash_command,
    telegram_message,
    telegram_responder,
    wecom_post,
    wecom_responder,
    wecom_text_xml,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def per_call(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over 5 rounds of `repeat` calls."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        rounds.append((time.perf_counter() - start) / repeat)
    return statistics.median(rounds)


def sample_reply(items: int) -> Reply:
    return Reply(
        command="search",
        blocks=[
            heading(f"{items} messages for \"PO 4521 valve\""),
            fields(("Mailboxes", "order@, inquiry@"), ("Period", "2026-01-01 – 2026-11-25")),
            bullets([f"#{i} [PO]-Acme-DN50 ball valve <rev {i}> & drawings — Amy Zhang, 2 d ago 询价 报价单"
                     for i in range(items)], title="Results"),
            context("page 1 of 3"),
        ],
        buttons=[Button(label="More", command="/search more"), Button(label="Ack", command="/sla ack 12")],
    )


def bench_render(repeat: int) -> None:
    print("1. rendering one reply (µs per reply; ratio vs console text)")
    for items in (10, 200):
        reply = sample_reply(items)
        base = per_call(lambda r=reply: console.render(r.model_copy(update={"text": blocks_to_text(r.blocks)})),
                        repeat)
        row = [f"   {items:>3} items: console {base * 1e6:8.1f}"]
        for name, fn in (("slack", slack.render), ("telegram", telegram.render), ("wecom", wecom.render)):
            cost = per_call(lambda r=reply, f=fn: f(r), repeat)
            row.append(f"{name} {cost * 1e6:8.1f} (×{cost / base:5.1f})")
        print("  ".join(row))


def bench_crypto(repeat: int) -> None:
    crypto = WecomCrypto(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP)
    inner = wecom_text_xml("/owner acme trading gmbh 询价", user="LiWei")
    encrypted, sig = crypto.seal(inner, "1764036000", "42")
    base = per_call(lambda: signature(WECOM_TOKEN, "1764036000", "42", encrypted), repeat)
    cost = per_call(lambda: wecom.parse_xml(crypto.open(sig, "1764036000", "42", encrypted)), repeat)
    print(f"2. WeCom callback open: {cost * 1e6:.1f} µs (signature alone {base * 1e6:.1f} µs, ×{cost / base:.1f})")


def bench_http(requests: int, folder: Path) -> None:
    services = Services(load_config(build_demo(folder, now=NOW)), Clock(NOW))
    fakes = [FakeApi(slack_responder), FakeApi(telegram_responder), FakeApi(wecom_responder)]
    settings = PlatformSettings(
        slack_bot_token="xoxb-bench", slack_signing_secret="bench-secret", slack_api_url=f"{fakes[0].url}/api/",
        slack_mode="http", telegram_bot_token="1:bench", telegram_webhook_secret="bench", telegram_api_url=fakes[1].url,
        wecom_corp_id=WECOM_CORP, wecom_agent_id=1, wecom_secret="s", wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_AES_KEY, wecom_api_url=fakes[2].url,
    )
    executor = ThreadPoolExecutor(max_workers=4)
    platforms = Platforms(ChatBot(services), settings, listen=False, executor=executor)
    platforms.start()
    server = WebServer(platforms.routes())
    server.start()
    base_url = f"http://127.0.0.1:{server.port}"
    counter = iter(range(10**9))

    def healthz() -> None:
        assert http("GET", f"{base_url}/healthz")[0] == 200

    def slack_command() -> None:
        body = slash_command("/help", "", user="U0LI", response_url=f"{fakes[0].url}/respond/b",
                             trigger_id=f"t{next(counter)}")
        assert http("POST", f"{base_url}/slack/events", body, slack_headers("bench-secret", body))[0] == 200

    def wecom_message() -> None:
        query, body = wecom_post(wecom_text_xml("/help", user="LiWei", msg_id=str(next(counter))))
        assert http("POST", f"{base_url}/wecom/callback?{query}", body)[0] == 200

    def telegram_update() -> None:
        update = json.dumps(telegram_message("/help", user=100003, update_id=next(counter)))
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "bench"}
        assert http("POST", f"{base_url}/telegram/webhook", update, headers)[0] == 200

    try:
        for fn in (healthz, slack_command, wecom_message, telegram_update):
            fn()  # warm up
        base = per_call(healthz, requests)
        print(f"3. HTTP round trips on 127.0.0.1 (ms per request; ratio vs GET /healthz = {base * 1e3:.2f} ms)")
        for name, fn in (("Slack signed /help → ack", slack_command),
                         ("WeCom encrypted text → 200", wecom_message),
                         ("Telegram webhook /help → reply sent", telegram_update)):
            cost = per_call(fn, requests)
            print(f"   {name:<38} {cost * 1e3:7.2f} ms  (×{cost / base:5.1f})")
        executor.shutdown(wait=True)
    finally:
        server.stop()
        platforms.stop()
        for fake in fakes:
            fake.stop()
        services.db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smoke size")
    quick = parser.parse_args().quick
    bench_render(50 if quick else 1000)
    bench_crypto(200 if quick else 5000)
    with tempfile.TemporaryDirectory() as tmp:
        bench_http(10 if quick else 100, Path(tmp))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB (ru_maxrss)")


if __name__ == "__main__":
    main()
