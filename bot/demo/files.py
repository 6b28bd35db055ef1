"""Writing the demo factory to disk: config, CRM export and a freshly imported archive."""

import shutil
from datetime import datetime
from pathlib import Path

DEMO_FOLDER = Path(__file__).parent
CONFIG_NAME = "mailroom.toml"
CSV_NAME = "customers.csv"
MARKER_NAME = ".mailroom-demo"
"""Written into a folder built by `mailroom demo`, so a later demo may rebuild it and nothing else."""
ARCHIVE_FILES = ("mailroom.db", "mailroom.db-wal", "mailroom.db-shm", "mailroom.db.migrate-lock")


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


def clear_demo_folder(folder: Path, *, force: bool = False) -> None:
    """Make `folder` ready for a new demo: refuse one holding anything but an earlier demo (unless
    `force`), and remove the earlier demo's archive so the demo never imports into an existing one."""
    from bot.core.errors import MailroomError

    if folder.exists() and not folder.is_dir():
        raise MailroomError(f"--dir {folder}: not a folder")
    if not folder.exists() or not any(folder.iterdir()):
        return
    if not (folder / MARKER_NAME).exists() and not force:
        raise MailroomError(f"--dir {folder}: the folder holds files that are not an earlier demo "
                            "(a real setup?); choose an empty folder, or use --force to overwrite")
    for name in ARCHIVE_FILES:
        (folder / name).unlink(missing_ok=True)


def build_demo(folder: Path, *, now: datetime) -> Path:
    """Config + CSV + an archive holding the generated demo mail; returns the config path.

    `folder` must hold no archive (see `clear_demo_folder`)."""
    from bot.core.clock import Clock, iso
    from bot.core.config import load_config
    from bot.customers.book import load_crm_if_changed
    from bot.demo.generator import generate
    from bot.mail.importer import import_messages
    from bot.services import Services

    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER_NAME).write_text("built by mailroom demo; `mailroom demo --dir` may rebuild this folder\n")
    config_path = folder / CONFIG_NAME
    write_starter(config_path)
    (folder / CSV_NAME).write_bytes((DEMO_FOLDER / CSV_NAME).read_bytes())
    config = load_config(config_path)
    services = Services(config, Clock(now))
    load_crm_if_changed(services.db, config, services.directory, iso(now))
    import_messages(services.archive, ((m.message_id, m.raw) for m in generate(now)))
    services.db.conn.close()
    return config_path
