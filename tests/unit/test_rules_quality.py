"""Each mail rule's precision and recall on the labelled set (bench/rules_labels.py): at least 0.9 precision
for every rule under the default subject scope; the old scope ("all_outbound") shows the noise it made."""

from pathlib import Path

import pytest

from bench.rules_labels import evaluate
from bot.rules.violations import RULES


def test_every_rule_is_precise_on_the_labelled_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quality = evaluate(tmp_path / "default")
    with capsys.disabled():
        print("\n" + "\n".join(quality.lines()))
    tp, _fp, _fn = quality.totals()
    for rule in RULES:
        assert tp[rule] >= 2, f"{rule}: the labelled set needs positives"
        precision, recall = quality.precision(rule), quality.recall(rule)
        assert precision is not None and precision >= 0.9, (rule, precision)
        assert recall is not None and recall >= 0.75, (rule, recall)
    _, fps, _ = quality.parts["their subjects"]
    assert fps["subject_convention"] == 0  # replies that keep the customer's subject are left alone


def test_the_old_scope_was_noise(tmp_path: Path) -> None:
    old = evaluate(tmp_path / "old", "all_outbound", rounds=1)
    _, fps, _ = old.parts["their subjects"]
    assert fps["subject_convention"] >= 10
    precision = old.precision("subject_convention")
    assert precision is not None and precision < 0.5
