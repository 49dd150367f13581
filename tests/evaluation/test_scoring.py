"""Scoring exactly as shared/contracts.md section 1 specifies."""

from __future__ import annotations

import pytest

from bot.dialogue.decision import Decision
from bot.evaluation.scoring import (
    InvalidQuestionsFile,
    Prediction,
    Question,
    read_questions,
    score,
    write_predictions,
)


def p(expected, kind, labels, conf=0.9):
    return Prediction(
        Question("q", tuple(expected.split("|"))), Decision(kind, tuple(labels), conf)
    )


def test_strict_lenient_and_oos():
    preds = [
        p("a", "answer", ["a"]),  # correct
        p("a|b", "answer", ["b"]),  # correct (alternative)
        p("a", "clarify", ["a", "c"]),  # lenient only
        p("a", "answer", ["c"]),  # wrong
        p("out_of_scope", "fallback", ["out_of_scope"]),  # rejected: correct
        p("out_of_scope", "clarify", ["a"]),  # not rejected: wrong, also not lenient
    ]
    s = score(preds)
    assert s["n"] == 6
    assert s["accuracy"] == round(3 / 6, 4)
    assert s["accuracy_lenient"] == round(4 / 6, 4)
    assert s["in_scope_accuracy"] == 0.5
    assert s["oos_rejection"] == 0.5
    assert s["per_label"]["a"]["support"] == 3
    assert s["per_label"]["a"]["recall"] == round(1 / 3, 4)
    assert s["per_label"]["c"]["precision"] == 0.0  # one wrong claim, no support


def test_read_questions_ignores_extra_columns(tmp_path):
    f = tmp_path / "q.tsv"
    f.write_text("text\texpected\tnote\nHallo?\tgreet\tx\nMwSt?\tmwst_senkung|mwst_ende\t\n")
    qs = read_questions(f)
    assert qs[1].expected == ("mwst_senkung", "mwst_ende")


def test_read_questions_rejects_bad_header_and_empty_rows(tmp_path):
    f = tmp_path / "q.tsv"
    f.write_text("frage\tlabel\nx\ty\n")
    with pytest.raises(InvalidQuestionsFile):
        read_questions(f)
    f.write_text("text\texpected\n\tgreet\n")
    with pytest.raises(InvalidQuestionsFile, match=":2"):
        read_questions(f)


def test_write_predictions(tmp_path):
    out = tmp_path / "out.tsv"
    write_predictions(out, [p("a", "clarify", ["a", "b"], 0.42)])
    assert out.read_text().splitlines() == [
        "text\texpected\tpredicted\tdecision\tconfidence",
        "q\ta\ta|b\tclarify\t0.4200",
    ]


def test_report_verdict_names_a_missed_target_and_its_margin() -> None:
    from bot.evaluation.report import target_verdicts

    ours = {"accuracy": 0.948, "oos_rejection": 0.966}
    line = target_verdicts(ours, [{"accuracy": 0.907}, {"accuracy": 0.919}])

    assert "accuracy 0.948: **missed** by 0.002" in line
    assert "oos_rejection 0.966: met" in line
    assert line.endswith("ahead of both baselines: met.")


def test_report_verdict_says_met_when_every_target_is_met() -> None:
    from bot.evaluation.report import target_verdicts

    line = target_verdicts({"accuracy": 0.96, "oos_rejection": 0.95}, [{"accuracy": 0.97}])

    assert "accuracy 0.960: met" in line
    assert "oos_rejection 0.950: met" in line
    assert "ahead of both baselines: **missed**" in line
