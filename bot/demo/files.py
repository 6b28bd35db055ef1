"""Writing the demo factory to disk: config, CRM export and a freshly imported archive."""

import shutil
from datetime import datetime
from pathlib import Path

DEMO_FOLDER = Path(__file__).parent
CONFIG_NAME = "mailroom.toml"
CSV_NAME = "customers.csv"


def write_starter(target: Path) -> list[Path]:
    """The example config at `target` and its CRM CSV beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEMO_FOLDER / CONFIG_NAME, target)
    csv_target = target.parent / CSV_NAME
    written = [target]
    if not csv_target.exists():
        shutil.copyfile(DEMO_FOLDER / CSV_NAME, csv_target)
        written.append(csv_target)
    return written


def build_demo(folder: Path, *, now: datetime) -> Path:
    """Config + CSV + an archive holding the generated demo mail; returns the config path."""
    from bot.core.clock import Clock, iso
    from bot.core.config import load_config
    from bot.customers.book import load_crm_if_changed
    from bot.demo.generator import generate
    from bot.mail.importer import import_messages
    from bot.services import Services

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / CONFIG_NAME
    write_starter(config_path)
    config = load_config(config_path)
    services = Services(config, Clock(now))
    load_crm_if_changed(services.db, config, services.directory, iso(now))
    import_messages(services.archive, ((m.message_id, m.raw) for m in generate(now)))
    services.db.conn.close()
    return config_path
