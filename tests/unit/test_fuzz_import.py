"""Fuzzing the import: hostile mail built by hypothesis (deep nesting, huge and broken headers, bad encodings,
wrong boundaries, message/rfc822 inside itself, giant lines, NUL bytes, overlong encoded words) and mutated
corpus messages. Each is archived as a row or a counted skip within a time bound, and the normal mail
around it is all archived. A few hundred examples here; bench/fuzz_import.py runs thousands."""

import itertools
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from bot.mail.importer import import_messages
from bot.services import Services
from tests.fakes import fuzz_mail
from tests.unit.test_import import eml, fresh_services

SECONDS = 5.0
"""Per hostile message, parse and store (typically well under 0.5 s; the machine is shared)."""
_services: list[Services] = []
_numbers = itertools.count()
ORIGINALS = fuzz_mail.corpus_files()


def archive() -> Services:
    """One archive for all examples (a fresh one per example would spend the time on migrations)."""
    if not _services:
        _services.append(fresh_services(Path(tempfile.mkdtemp(prefix="mailroom-fuzz-"))))
    return _services[0]


def check_archived(raw: bytes) -> None:
    services = archive()
    n = next(_numbers)
    before = eml("hans@acme-trading.de", "inquiry@hengda-valves.com", f"before {n}", msgid=f"before-{n}@fuzz")
    after = eml("hans@acme-trading.de", "inquiry@hengda-valves.com", f"after {n}", msgid=f"after-{n}@fuzz")
    started = time.perf_counter()
    summary = import_messages(services.archive, iter([("before", before), ("hostile", raw), ("after", after)]))
    took = time.perf_counter() - started
    assert took < SECONDS, (took, raw[:200])
    assert summary.read == 3 and summary.new + summary.duplicates + len(summary.skipped) == 3, summary
    assert [w for w, _ in summary.skipped] in ([], ["hostile"])
    stored = {row[0] for row in services.db.execute(
        "SELECT message_id FROM messages WHERE message_id IN (?, ?)", [f"before-{n}@fuzz", f"after-{n}@fuzz"])}
    assert stored == {f"before-{n}@fuzz", f"after-{n}@fuzz"}


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])


@FUZZ
@given(fuzz_mail.structured)
def test_structured_hostile_mail_is_archived_or_skipped(raw: bytes) -> None:
    check_archived(raw)


@settings(FUZZ, max_examples=100)
@given(fuzz_mail.mutated(ORIGINALS))
def test_mutated_corpus_messages_are_archived_or_skipped(raw: bytes) -> None:
    check_archived(raw)
