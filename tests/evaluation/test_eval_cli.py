"""`python -m bot eval` as shared/contracts.md section 1 specifies (real model, in-process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_eval_prints_contract_json_and_writes_predictions(run_eval, model_path, tmp_path):
    questions = tmp_path / "q.tsv"
    questions.write_text(
        "text\texpected\tcomment\n"
        "Wie funktionierte die Strompreisbremse?\tstrompreisbremse\tx\n"
        "Wer gewinnt die Bundesliga?\tout_of_scope\t\n"
        "Kann ich mit einem Menschen sprechen?\thuman_handoff|kontakt_oeffnungszeiten\t\n",
        encoding="utf-8",
    )
    out = tmp_path / "pred.tsv"
    summary = run_eval(str(questions), "--out", str(out))
    assert set(summary) == {
        "n",
        "accuracy",
        "accuracy_lenient",
        "in_scope_accuracy",
        "oos_rejection",
        "per_label",
    }
    assert summary["n"] == 3
    assert summary["accuracy"] == 1.0
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "text\texpected\tpredicted\tdecision\tconfidence"
    assert rows[1].split("\t")[2:4] == ["strompreisbremse", "answer"]
    assert rows[2].split("\t")[2:4] == ["out_of_scope", "fallback"]


def test_eval_with_a_missing_model_explains(repo_root, tmp_path):
    questions = tmp_path / "q.tsv"
    questions.write_text("text\texpected\nHallo\tgreet\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "eval",
            "--questions",
            str(questions),
            "--model",
            str(tmp_path / "none.tar.gz"),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "make train" in result.stderr


def test_the_evaluation_servers_get_different_ports_that_are_free():
    import socket

    from bot.evaluation.servers import HOST, free_ports

    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind((HOST, port))  # free again once handed out
