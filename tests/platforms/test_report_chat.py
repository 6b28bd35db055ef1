"""The weekly report and /report reach Slack, Telegram and WeCom (app and group robot) as images, once:
through the outbox, against the fake platform APIs; the uploaded bytes are PNGs of the charts' size."""

import base64
import hashlib
import struct
from datetime import timedelta

import pytest

from bot.chat.adapters.telegram import TelegramChannel
from bot.chat.adapters.wecom import RobotSender, WecomChannel
from bot.report.charts import CHARTS
from bot.report.weekly import latest_slot
from bot.scheduler import run_scheduler_once
from bot.services import Services
from tests.fakes.chat_helpers import Answer, telegram_message
from tests.platforms.test_slack import SlackRig, _channel, slack  # noqa: F401 - the Slack fixture
from tests.platforms.test_telegram import TelegramRig, telegram  # noqa: F401 - the Telegram fixture
from tests.platforms.test_wecom import WecomRig, _adapter, wecom  # noqa: F401 - the WeCom fixture

SIZE = (960, 720)
N = len(CHARTS)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def uploads_of(rig: SlackRig) -> list:  # noqa: ANN401 - Call
    """files_upload_v2's step 2: the bytes, posted to the upload URL step 1 handed out."""
    return [c for c in list(rig.api.calls) if c.path.startswith("/upload/")]


def weekly_for_sales(services: Services, when: str = "wed 09:00") -> None:
    """The demo's clock is Wednesday 10:00 in Ningbo: an hour after the sales team's report time."""
    next(t for t in services.config.teams if t.id == "sales").report = when


def test_latest_slot_and_catch_up() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    wed_10 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert latest_slot("wed 09:00", wed_10, zone).isoformat() == "2026-11-25T09:00:00+08:00"
    assert latest_slot("wed 11:00", wed_10, zone).isoformat() == "2026-11-18T11:00:00+08:00"
    assert latest_slot("mon 09:00", wed_10, zone).isoformat() == "2026-11-23T09:00:00+08:00"


def test_report_time_is_validated(demo_dir: object) -> None:
    from bot.core.config import Team

    assert Team(id="t", name="T", report="Mon 9:05").report == "mon 09:05"
    for bad in ("monday 09:00", "mon 25:00", "mon 9", "09:00"):
        with pytest.raises(ValueError, match="must look like"):
            Team(id="t", name="T", report=bad)


def test_weekly_report_reaches_slack_once_even_after_a_failed_upload(slack: SlackRig) -> None:  # noqa: F811
    services = slack.bot.services
    weekly_for_sales(services)
    slack.api.queue("/api/files.completeUploadExternal", Answer(status=500, body={"ok": False, "error": "fatal"}))
    first = run_scheduler_once(services, [_channel(slack, [])])
    assert first.reports == 1 and first.delivery.retrying >= 1
    services.clock.advance(minutes=5)  # past the back-off
    second = run_scheduler_once(services, [_channel(slack, [])])
    assert second.reports == 0  # queued once
    texts = [c.payload() for c in slack.api.to("/chat.postMessage") if "Report — Sales" in c.payload().get("text", "")]
    assert len(texts) == 1 and texts[0]["channel"] == "C0SALES"  # the text was not posted again on the retry
    completes = [c.payload() for c in slack.api.to("/api/files.completeUploadExternal")]
    assert len(completes) == 2 and completes[-1]["channel_id"] == "C0SALES"
    uploads = uploads_of(slack)
    assert len(uploads) == 2 * N  # the failed attempt's bytes and the ones that were shared
    assert all(png_size(c.body) == SIZE for c in uploads)
    services.clock.advance(minutes=5)
    run_scheduler_once(services, [_channel(slack, [])])
    assert len(slack.api.to("/api/files.completeUploadExternal")) == 2  # nothing more


def test_report_on_demand_reaches_a_person_on_slack_as_a_direct_message(slack: SlackRig) -> None:  # noqa: F811
    services = slack.bot.services
    reply = slack.bot.answer("slack", "U0BOSS", "/report sales 30")
    assert reply.error is None and reply.data["queued"] and len(reply.images) == N
    assert "The charts follow" in reply.text
    run_scheduler_once(services, [_channel(slack, [])])
    (complete,) = [c.payload() for c in slack.api.to("/api/files.completeUploadExternal")]
    assert complete["channel_id"] == "D0BOSS"  # conversations.open with U0BOSS
    assert len(uploads_of(slack)) == N


def test_weekly_report_reaches_the_telegram_group_as_an_album_once(telegram: TelegramRig) -> None:  # noqa: F811
    services = telegram.bot.services
    weekly_for_sales(services)
    channel = TelegramChannel(telegram.platforms.telegram)
    assert run_scheduler_once(services, [channel]).reports == 1
    (album,) = telegram.api.to("/sendMediaGroup")
    assert int(album.fields()["chat_id"]) == -1001001
    files = album.files()
    assert len(files) == N and all(png_size(data) == SIZE for data in files.values())
    assert any("Report — Sales" in s["text"] for s in telegram.sent())
    run_scheduler_once(services, [channel])
    assert len(telegram.api.to("/sendMediaGroup")) == 1


def test_report_command_in_telegram_sends_the_charts_to_the_asker(telegram: TelegramRig) -> None:  # noqa: F811
    assert telegram.post(telegram_message("/report sales 14", user=100001, update_id=77)) == 200
    telegram.api.wait_for("/sendMessage")
    assert "Report — Sales" in telegram.sent()[-1]["text"]
    run_scheduler_once(telegram.bot.services, [TelegramChannel(telegram.platforms.telegram)])
    albums = [c for c in telegram.api.to("/sendMediaGroup") if int(c.fields()["chat_id"]) == 100001]
    assert len(albums) == 1 and len(albums[0].files()) == N


def test_wecom_app_images_after_media_upload(wecom: WecomRig) -> None:  # noqa: F811
    services = wecom.bot.services
    reply = wecom.bot.answer("wecom", "AmyZhang", "/report")
    assert reply.error is None and reply.data["period"]["team"] == "sales"
    channel = WecomChannel(_adapter(wecom), RobotSender(wecom.api.url, sleep=lambda s: None), environ={})
    run_scheduler_once(services, [channel])
    uploads = wecom.api.to("/cgi-bin/media/upload")
    assert len(uploads) == N
    assert all(c.query["type"] == "image" and png_size(c.files()["media"]) == SIZE for c in uploads)
    images = [m for m in wecom.sent() if m["msgtype"] == "image"]
    assert len(images) == N and {m["touser"] for m in images} == {"AmyZhang"}
    assert [m["image"]["media_id"] for m in images] == [f"MEDIA{len(c.body)}" for c in uploads]
    run_scheduler_once(services, [channel])
    assert len(wecom.api.to("/cgi-bin/media/upload")) == N


def test_wecom_group_robot_images_base64_and_md5(wecom: WecomRig) -> None:  # noqa: F811
    services = wecom.bot.services
    weekly_for_sales(services)
    sales = next(t for t in services.config.teams if t.id == "sales")
    sales.channels.wecom_robot_key_env = "WECOM_SALES_ROBOT"
    slept: list[float] = []
    robots = RobotSender(wecom.api.url, monotonic=lambda: 0.0, sleep=slept.append)
    channel = WecomChannel(_adapter(wecom), robots, environ={"WECOM_SALES_ROBOT": "ROBOT-KEY"})
    assert run_scheduler_once(services, [channel]).reports == 1
    images = [c.json for c in wecom.api.to("/cgi-bin/webhook/send") if c.json["msgtype"] == "image"]
    assert len(images) == N
    for message in images:
        data = base64.b64decode(message["image"]["base64"])
        assert png_size(data) == SIZE and hashlib.md5(data).hexdigest() == message["image"]["md5"]
    services.clock.advance(minutes=1)
    run_scheduler_once(services, [channel])
    assert len([c for c in wecom.api.to("/cgi-bin/webhook/send") if c.json["msgtype"] == "image"]) == N


def test_a_report_too_late_is_skipped_not_posted(demo_services: Services) -> None:
    reports = demo_services.reports
    weekly_for_sales(demo_services, "tue 09:00")  # 25 hours before the demo's clock
    assert reports.enqueue_weekly(demo_services.clock.now()) == 0
    weekly_for_sales(demo_services, "wed 09:00")
    now = demo_services.clock.now()
    assert reports.enqueue_weekly(now) == 1
    assert reports.enqueue_weekly(now + timedelta(hours=1)) == 0


def test_a_team_channel_report_counts_only_what_every_reader_may_read(demo_services: Services) -> None:
    services = demo_services
    # members + manager all read it
    assert services.reports.team_rights("sales") == ["inquiry@hengda-valves.com"]
    services.config.permissions["inquiry@hengda-valves.com"] = type(
        next(iter(services.config.permissions.values())))(read=["amy", "li", "chen", "lucy"])
    for cached in ("visibility", "reports"):  # (the choke point caches rights per person; reports holds it)
        services.__dict__.pop(cached, None)
    assert services.reports.team_rights("sales") == []  # the manager (boss) may no longer read inquiry@
