"""The sparse intent classifier's shortcuts give Rasa's own features and scores, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from bot.dialogue.decision import SEGMENTS_KEY
from bot.nlu import segments as segmenter
from bot.nlu.components import TunableLogisticRegressionClassifier

EXAMPLES = {
    "faq_gaspreisbremse": [
        "Wie hoch ist die Gaspreisbremse?",
        "Gaspreisbremse 12 Cent",
        "Ab wann galt die Gaspreisbremse für Gas?",
        "Was ist der Gaspreisdeckel",
    ],
    "faq_soforthilfe": [
        "Muss ich die Soforthilfe versteuern?",
        "Soforthilfe Dezember Steuer",
        "Wie wurde die Dezember-Soforthilfe berechnet?",
        "Bekomme ich die Soforthilfe als Mieter?",
    ],
    "out_of_scope": [
        "Wie wird das Wetter morgen?",
        "Erzähl mir einen Witz",
        "Wer hat das Fußballspiel gewonnen?",
        "Wo kann ich Pizza bestellen?",
    ],
}
MESSAGES = [
    "Wie hoch ist die Gaspreisbremse?",
    "Hallo! Wie lange galt die Gaspreisbremse? Und muss ich die Soforthilfe versteuern?",
    "soforthilfe",
    "Ich bin so wütend. Das Wetter ist schlecht. Wie wurde die Soforthilfe berechnet?",
    "Kann ich Pizza bestellen und wie hoch war der Gaspreisdeckel für Mieter?",
    "xyz",
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Rasa's tokenizer and both featurizers of config.yml, and the classifier, trained."""
    path = tmp_path_factory.mktemp("model")
    storage = LocalModelStorage(path)
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizers = [
        CountVectorsFeaturizer.create(
            {**CountVectorsFeaturizer.get_default_config(), **config},
            storage,
            Resource(f"cvf{i}"),
            context,
        )
        for i, config in enumerate([{}, {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}])
    ]
    classifier = TunableLogisticRegressionClassifier.create(
        {
            **TunableLogisticRegressionClassifier.get_default_config(),
            "C": 5,
            "max_iter": 2000,
            "random_state": 42,
        },
        storage,
        Resource("clf"),
        context,
    )
    data = TrainingData(
        [Message(data={TEXT: t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts]
    )
    tokenizer.process_training_data(data)
    for featurizer in featurizers:
        featurizer.train(data)
        featurizer.process_training_data(data)
    classifier.train(data)

    def featurized(text: str) -> Message:
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        for featurizer in featurizers:
            featurizer.process([message])
        return message

    return classifier, featurized


def _same(a: csr_matrix, b: csr_matrix) -> bool:
    return (
        a.format == b.format
        and a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.data, b.data)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.indptr, b.indptr)
    )


def test_features_are_rasas_matrix(pipeline):
    classifier, featurized = pipeline
    messages = [featurized(text) for text in MESSAGES]
    for message in messages:
        assert _same(classifier._features([message]), classifier._create_X([message]))
    assert _same(classifier._features(messages), classifier._create_X(messages))
    assert np.array_equal(
        classifier.clf.predict_proba(classifier._features(messages)),
        classifier.clf.predict_proba(classifier._create_X(messages)),
    )


def test_dense_text_features_take_rasas_way(pipeline):
    classifier, featurized = pipeline
    message = featurized("Wie hoch ist die Gaspreisbremse?")
    message.add_features(Features(np.ones((1, 3)), "sentence", TEXT, "dense"))
    assert _same(classifier._features([message]), classifier._create_X([message]))
    assert classifier._features([message]).shape[1] == classifier._create_X([message]).shape[1]


def _segments_as_rasa_combines(classifier, message: Message) -> list | None:
    """The segments computed from Rasa's combined sequence features (the former way)."""
    text = message.get(TEXT)
    spans = segmenter.split(text)
    tokens = message.get(TOKENS_NAMES[TEXT])
    sequence, _ = message.get_sparse_features(TEXT)
    if len(spans) < 2:
        return None
    rows = csr_matrix(sequence.features)
    parts, matrices = [], []
    for start, end in spans:
        picked = [i for i, t in enumerate(tokens) if t.start >= start and t.end <= end]
        if picked:
            parts.append(text[start:end].strip())
            matrices.append(csr_matrix(rows[picked].sum(axis=0)))
    from scipy.sparse import vstack

    probabilities = classifier.clf.predict_proba(vstack(matrices))
    return [
        [(str(classifier.clf.classes_[i]), float(row[i])) for i in np.argsort(-row)[:3]]
        for row in probabilities
    ]


def test_segments_and_intents_as_before(pipeline):
    classifier, featurized = pipeline
    several = 0
    for text in MESSAGES:
        message = featurized(text)
        expected_segments = _segments_as_rasa_combines(classifier, message)
        expected = classifier.clf.predict_proba(classifier._create_X([message]))[0]
        classifier.process([message])
        got = message.get(SEGMENTS_KEY)
        if expected_segments is None:
            assert got is None
        else:
            several += 1
            assert [
                [(r["name"], r["confidence"]) for r in s["intent_ranking"]] for s in got
            ] == expected_segments
        assert message.get("intent")["confidence"] == float(expected.max())
    assert several >= 3


def _part(text, *ranking):
    return {"text": text, "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}


@pytest.fixture(scope="module")
def context_component(kb):
    from bot.nlu.components import ConversationContext

    table = {
        t.id: {"measure": [t.measure], **{k: list(v) for k, v in t.facets}}
        for t in kb.topics.values()
        if t.facets
    }
    return ConversationContext(None, None, table, sorted(kb.topics))  # type: ignore[arg-type]


def test_a_later_part_leans_on_the_topic_of_an_earlier_one(context_component):
    text = "Zwei Fragen: muss ich die Gaspreisbremse beantragen und bis wann gilt sie?"
    message = Message(data={TEXT: text})
    message.set(
        SEGMENTS_KEY,
        [
            _part("Zwei Fragen: muss ich die Gaspreisbremse beantragen",
                  ("faq_preisbremse_antrag", 0.9)),
            _part("und bis wann gilt sie?", ("goodbye", 0.31), ("faq_preisbremse_zeitraum", 0.29)),
        ],
    )  # fmt: skip
    context_component.process([message])  # no tracker: the parts need none
    parts = message.get(SEGMENTS_KEY)
    assert parts[1]["intent_ranking"][0] == {"name": "faq_preisbremse_zeitraum", "confidence": 0.9}
    assert parts[1]["context"] == {"kind": "followup", "current": "preisbremse_antrag"}


def test_parts_that_stand_alone_or_lean_on_an_unsure_part_stay(context_component):
    message = Message(data={TEXT: "x"})
    parts = [
        _part("Wie war das mit der Mehrwertsteuer", ("faq_mwst_senkung", 0.9)),
        _part("und wann endete die Gaspreisbremse?", ("faq_preisbremse_zeitraum", 0.85)),
        _part("Ich bin unsicher bei allem", ("out_of_scope", 0.4)),
    ]
    message.set(SEGMENTS_KEY, [dict(p) for p in parts])
    context_component.process([message])
    assert message.get(SEGMENTS_KEY) == parts
    unsure = Message(data={TEXT: "y"})
    unsure.set(
        SEGMENTS_KEY,
        [_part("hmm Gaspreisbremse", ("faq_gaspreisbremse", 0.3)),
         _part("und bis wann gilt sie?", ("goodbye", 0.31))],
    )  # fmt: skip
    context_component.process([unsure])
    assert unsure.get(SEGMENTS_KEY)[1]["intent_ranking"][0]["name"] == "goodbye"


def _tracker(**slots):
    from pathlib import Path

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(Path(__file__).resolve().parents[2] / "domain.yml")
    events = [SlotSet(name, value) for name, value in slots.items()]
    return DialogueStateTracker.from_events("t", events, slots=domain.slots)


def _classified(text, *ranking):
    message = Message(data={TEXT: text})
    message.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    return message


def test_a_typed_follow_up_to_a_question_back_leans_on_the_first_topic_offered(context_component):
    # "Meinten Sie die Strompreisbremse, …?" was asked (no answer since), the customer types
    # instead of clicking. The last answer, long before, was about the VAT cut.
    tracker = _tracker(last_faq_id="mwst_senkung", offered_topic="strompreisbremse")
    message = _classified("und für Firmen?", ("out_of_scope", 0.62), ("faq_mwst_senkung", 0.2))
    context_component.process([message], tracker)
    assert message.get("intent")["name"] == "faq_preisbremse_gewerbe"
    assert message.get("context")["current"] == "strompreisbremse"


def test_not_understood_after_a_question_back_is_no_complaint_about_an_answer(context_component):
    answered = _classified("versteh ich nicht", ("out_of_scope", 0.5))
    context_component.process([answered], _tracker(last_faq_id="gaspreisbremse"))
    assert answered.get("context")["kind"] == "unclear"
    asked_back = _classified("versteh ich nicht", ("out_of_scope", 0.5))
    context_component.process(
        [asked_back],
        _tracker(last_faq_id="gaspreisbremse", offered_topic="strompreisbremse"),
    )
    assert (asked_back.get("context") or {}).get("kind") != "unclear"


def _emergency_component(tmp_path, intents):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.components import EmergencyOverride

    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    resource = Resource("emergency")
    context = ExecutionContext(GraphSchema({}), "test")
    data = TrainingData([Message(data={"text": f"Frage {i}", "intent": i}) for i in intents])
    EmergencyOverride.create({}, storage, resource, context).train(data)
    return EmergencyOverride.load({}, storage, resource, context)


def test_a_gas_smell_gets_the_emergency_topic_whatever_was_read(tmp_path):
    from rasa.shared.nlu.training_data.message import Message

    component = _emergency_component(tmp_path, ["faq_stoerung_notfall", "instalment_calculation"])
    smell = Message(data={"text": "Hilfe, im Keller riecht es nach Gas!"})
    smell.set("intent", {"name": "instalment_calculation", "confidence": 0.8})
    smell.set("intent_ranking", [{"name": "instalment_calculation", "confidence": 0.8}])
    smell.set("context", {"kind": "followup", "topics": ["gaspreisbremse"]})
    question = Message(data={"text": "Wie hoch war die Gaspreisbremse?"})
    question.set("intent", {"name": "faq_gaspreisbremse", "confidence": 0.9})
    component.process([smell, question])
    assert smell.get("intent") == {"name": "faq_stoerung_notfall", "confidence": 1.0}
    assert smell.get("intent_ranking")[0]["name"] == "faq_stoerung_notfall"
    assert smell.get("context") is None and smell.get("emergency") is True
    assert question.get("intent")["name"] == "faq_gaspreisbremse"


def test_without_the_emergency_topic_the_override_does_nothing(tmp_path):
    from rasa.shared.nlu.training_data.message import Message

    component = _emergency_component(tmp_path, ["faq_gaspreisbremse"])
    smell = Message(data={"text": "Es riecht nach Gas"})
    smell.set("intent", {"name": "faq_gaspreisbremse", "confidence": 0.4})
    component.process([smell])
    assert smell.get("intent")["name"] == "faq_gaspreisbremse"


def test_nouns_known_from_out_of_scope_examples_alone_are_marked(kb):
    from bot.nlu.components import ConversationContext

    table = {t.id: {"measure": [t.measure]} for t in kb.topics.values() if t.facets}
    component = ConversationContext(
        None, None, table, sorted(kb.topics), foreign=["balkonkraftwerk", "partei", "lohnt"]
    )  # type: ignore[arg-type]
    message = _classified(
        "Lohnt sich ein Balkonkraftwerk und muss ich das irgendwo anmelden?",
        ("faq_preisbremse_antrag", 0.87),
    )
    component.process([message])  # no tracker: the mark needs none
    # Noun-like means capitalised in a message that uses capitals: the sentence's first word
    # counts too ("Lohnt"), a lower-case "partei" would not.
    assert message.get("out_of_scope_words") == ["balkonkraftwerk", "lohnt"]
    plain = _classified("Muss ich die Gaspreisbremse beantragen?", ("faq_preisbremse_antrag", 0.9))
    component.process([plain])
    assert plain.get("out_of_scope_words") is None
    payload = _classified("/faq_preisbremse_antrag", ("faq_preisbremse_antrag", 1.0))
    component.process([payload])
    assert payload.get("out_of_scope_words") is None


def test_an_out_of_scope_question_about_things_the_topic_never_names_stays_out_of_scope(kb):
    from bot.nlu.components import ConversationContext

    table = {
        t.id: {"measure": [t.measure], **dict(t.facets)} for t in kb.topics.values() if t.facets
    }
    words = {
        "topics": {"heizkostenzuschuss": ["wohngeld", "bafoeg"]},
        "generic": ["und"],
        "characteristic": ["buergergeld"],
    }
    with_words = ConversationContext(None, None, table, sorted(kb.topics), topic_words=words)  # type: ignore[arg-type]
    without = ConversationContext(None, None, table, sorted(kb.topics))  # type: ignore[arg-type]
    tracker = _tracker(last_faq_id="heizkostenzuschuss")
    read = {}
    for name, component in (("with", with_words), ("without", without)):
        message = _classified("und wie beantrage ich Bürgergeld?", ("out_of_scope", 0.99))
        component.process([message], tracker)
        read[name] = message.get("intent")["name"]
    assert read == {"with": "out_of_scope", "without": "faq_heizkostenzuschuss"}
