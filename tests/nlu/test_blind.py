"""The blind sets of issue 16 (tests/nlu/BLIND.md): unchanged, unseen by training, complete."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest

from bot.evaluation import dialogues
from bot.evaluation.baselines import training_examples
from bot.evaluation.scoring import read_questions
from bot.nlu.normalize import question_key

# sha256 of the files as their author delivered them. A blind set is never edited: a changed
# digest means someone touched it, and its scores no longer measure generalisation.
_BLIND_TSV = "c8eaa9afde6a64ee544a037abb8f7057631f36c00e84f0ca6afbfbc19a671b88"
_BLIND_MULTILINGUAL = "e3a595df1f00c660d0d4ea37df8e772204f52bd5a9e61812221f8b1a2223ea40"
_BLIND_DIALOGUES = "07a188a34ac85de77e585c47d36b875ec88c5412ddfc1b511a8b6e6a96777fa0"
DIGESTS = {
    "tests/nlu/blind.tsv": _BLIND_TSV,
    "tests/nlu/blind_multilingual.tsv": _BLIND_MULTILINGUAL,
    "tests/dialogues/blind.yml": _BLIND_DIALOGUES,
}
LABELS_BESIDES_TOPICS = {"out_of_scope", "instalment_calculation", "human_handoff"}


def _catalogue(shared_dir):
    text = (shared_dir / "faq-topics.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.MULTILINE))


@pytest.mark.parametrize("path", sorted(DIGESTS))
def test_blind_files_are_unchanged(repo_root, path):
    assert hashlib.sha256((repo_root / path).read_bytes()).hexdigest() == DIGESTS[path]


@pytest.mark.parametrize("name", ["blind.tsv", "blind_multilingual.tsv"])
def test_no_blind_text_is_training_data(repo_root, name):
    training = {question_key(text) for text, _ in training_examples(repo_root / "data" / "nlu")}
    overlap = [
        q.text
        for q in read_questions(repo_root / "tests" / "nlu" / name)
        if question_key(q.text) in training
    ]
    assert overlap == []


def test_no_blind_conversation_turn_is_training_data(repo_root):
    training = {question_key(text) for text, _ in training_examples(repo_root / "data" / "nlu")}
    turns = [
        t.user
        for c in dialogues.load(repo_root / "tests" / "dialogues" / "blind.yml")
        for t in c.turns
        if len(t.user.split()) > 3  # "Gas", "ja", "3500 kWh" are not questions of their own
    ]
    assert [t for t in turns if question_key(t) in training] == []


def test_blind_set_has_what_issue_16_asks_for(repo_root, shared_dir):
    questions = read_questions(repo_root / "tests" / "nlu" / "blind.tsv")
    first = Counter(q.expected[0] for q in questions)
    topics = _catalogue(shared_dir)
    assert sum(first[t] for t in topics) >= 300
    assert first["out_of_scope"] >= 60
    assert set(first) <= topics | LABELS_BESIDES_TOPICS
    conversations = dialogues.load(repo_root / "tests" / "dialogues" / "blind.yml")
    assert len(conversations) >= 40


@pytest.mark.parametrize(
    "name",
    [
        "blind.yml",
        "dev.yml",
        "dev2.yml",
        "dev3.yml",
        "dev4.yml",
        "dev5.yml",
        "dev6.yml",
        "smoke.yml",
    ],
)
def test_every_dialogue_set_expects_known_labels(repo_root, shared_dir, name):
    # A typo in an expectation would count as a miss forever; the form's slots are the domain's.
    topics = _catalogue(shared_dir) | set(
        p.stem for p in (repo_root / "knowledge" / "topics").glob("*.yml")
    )
    slots = ("energy", "consumption_kwh", "working_price_ct", "base_price_eur")
    slots += ("current_instalment_eur",)
    specials = {"form", "instalment_result", "handoff", "out_of_scope", "any"}
    known = topics | specials | {f"form:{slot}" for slot in slots}
    conversations = dialogues.load(repo_root / "tests" / "dialogues" / name)
    labels = {
        label
        for c in conversations
        for t in c.turns
        for label in (t.expect if isinstance(t.expect, tuple) else (t.expect,))
    }
    assert conversations and labels <= known, sorted(labels - known)


@pytest.mark.parametrize(
    "name", ["dev_realistic.tsv", "dev_realistic2.tsv", "dev_realistic3.tsv", "dev_realistic4.tsv"]
)
def test_development_sets_are_disjoint_from_the_blind_one(repo_root, shared_dir, name):
    blind = {q.text for q in read_questions(repo_root / "tests" / "nlu" / "blind.tsv")}
    dev = read_questions(repo_root / "tests" / "nlu" / name)
    # Topics added after the catalogue (the gas smell / outage topic) are labels too.
    topics = _catalogue(shared_dir) | {
        p.stem for p in (repo_root / "knowledge" / "topics").glob("*.yml")
    }
    assert dev and {question_key(q.text) for q in dev}.isdisjoint(map(question_key, blind))
    assert {label for q in dev for label in q.expected} <= topics | LABELS_BESIDES_TOPICS
