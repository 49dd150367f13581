"""The generated training data is compiled from knowledge/ and committed up to date."""

from __future__ import annotations

import yaml

from bot.nlu.generate import DOMAIN_BEGIN, domain_with_intents, generate, stale


def test_generated_files_are_current(kb, repo_root):
    generated = generate(kb, repo_root)
    assert stale(generated, repo_root) == [], "run `make generate` and commit the result"


def test_every_topic_becomes_an_intent_with_its_questions_and_a_rule(kb, repo_root):
    files = generate(kb, repo_root).files
    nlu = yaml.safe_load(files["data/nlu/faq.yml"])["nlu"]
    by_intent = {block["intent"]: block["examples"] for block in nlu}
    assert set(by_intent) == {f"faq_{t}" for t in kb.topics}
    for topic in kb.topics.values():
        lines = [line[2:] for line in by_intent[f"faq_{topic.id}"].splitlines()]
        assert lines == [" ".join(q.split()) for q in topic.questions]
    rules = yaml.safe_load(files["data/stories/faq.yml"])["rules"]
    plain = [r for r in rules if "condition" not in r]
    during_form = [r for r in rules if "condition" in r]
    assert {r["steps"][0]["intent"] for r in plain} == set(by_intent)
    assert {r["steps"][0]["intent"] for r in during_form} == set(by_intent)
    assert all(r["steps"][1]["action"] == "action_answer_question" for r in rules)
    assert all(r["steps"][2]["action"] == "instalment_form" for r in during_form)
    domain = yaml.safe_load(files["domain.yml"])
    assert set(by_intent) <= set(domain["intents"])


def test_generation_is_stable(kb, repo_root):
    assert generate(kb, repo_root).files == generate(kb, repo_root).files


def test_domain_without_markers_is_an_error(kb):
    try:
        domain_with_intents("intents:\n  - greet\n", kb)
    except ValueError as exc:
        assert "markers" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected ValueError")
    assert DOMAIN_BEGIN.strip().startswith("# BEGIN")
