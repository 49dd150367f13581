"""The held-out set is separate from the training data and covers every label."""

from __future__ import annotations

import re
from collections import Counter

from bot.evaluation.baselines import training_examples
from bot.evaluation.scoring import read_questions
from bot.nlu.normalize import question_key


def _catalogue(shared_dir):
    text = (shared_dir / "faq-topics.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.MULTILINE))


def test_no_overlap_with_training_data(repo_root):
    training = {question_key(text) for text, _ in training_examples(repo_root / "data" / "nlu")}
    for name in ("heldout.tsv", "dev.tsv"):
        overlap = [
            q.text
            for q in read_questions(repo_root / "tests" / "nlu" / name)
            if question_key(q.text) in training
        ]
        assert overlap == [], f"{name} questions also in the training data: {overlap[:5]}"


def test_heldout_and_dev_do_not_overlap(repo_root):
    heldout = {question_key(q.text) for q in read_questions(repo_root / "tests/nlu/heldout.tsv")}
    dev = {question_key(q.text) for q in read_questions(repo_root / "tests/nlu/dev.tsv")}
    assert heldout.isdisjoint(dev)


def test_heldout_covers_every_topic_and_out_of_scope(repo_root, shared_dir):
    questions = read_questions(repo_root / "tests" / "nlu" / "heldout.tsv")
    first = Counter(q.expected[0] for q in questions)
    topics = _catalogue(shared_dir)
    assert all(first[t] >= 5 for t in topics), {t: first[t] for t in topics if first[t] < 5}
    assert first["out_of_scope"] >= 40
    labels = {label for q in questions for label in q.expected}
    assert labels <= topics | {"out_of_scope", "instalment_calculation", "human_handoff"}
