"""JSON shapes of the editors' API: revisions, training runs, audit entries, with German labels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Final

import yaml

from bot.content.models import ContentRevision, TrainingRun
from bot.settings import REPO_ROOT

DEFAULT_CALCULATION_BUTTON: Final = "Meinen Abschlag berechnen"
REVISION_STATE_LABELS: Final = {
    "draft": "Entwurf",
    "pending": "Wartet auf Freigabe",
    "published": "Veröffentlicht",
    "rejected": "Zurückgewiesen",
    "discarded": "Verworfen",
}
TRAINING_STATE_LABELS: Final = {
    "queued": "In der Warteschlange",
    "training": "Training läuft",
    "evaluating": "Wird geprüft",
    "live": "Live",
    "rejected": "Abgelehnt",
    "failed": "Fehlgeschlagen",
}
AUDIT_LABELS: Final = {
    "conversation.export": "Gespräch exportiert (Datenschutz)",
    "conversation.delete": "Gespräch gelöscht (Datenschutz)",
    "draft.save": "Entwurf gespeichert",
    "draft.discard": "Entwurf verworfen",
    "publish": "Veröffentlicht",
    "review.request": "Zur Freigabe gesendet",
    "review.approve": "Freigegeben und veröffentlicht",
    "review.reject": "Zurückgewiesen",
    "rollback": "Auf frühere Version zurückgesetzt",
    "import": "Import aus knowledge/",
    "imported": "Geänderte Datei aus knowledge/ beim Start übernommen",
    "inbox.add": "Frage aus dem Posteingang übernommen",
    "inbox.new_topic": "Neues Thema aus dem Posteingang",
    "inbox.dismiss": "Posteingang: verworfen",
    "settings.four_eyes": "Vier-Augen-Prinzip umgestellt",
    "user.create": "Benutzer angelegt",
    "user.update": "Benutzer geändert",
    "user.password": "Passwort zurückgesetzt",
    "user.delete": "Benutzer gelöscht",
}
INBOX_KIND_LABELS: Final = {
    "fallback": "Nicht verstanden",
    "feedback": "Daumen runter",
    "handoff": "Weitergeleitet an Mitarbeitende",
}


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` (``None`` stays ``None``)."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def revision_out(rev: ContentRevision, *, data: bool = False) -> dict[str, Any]:
    """A revision as JSON (``data``: with the document)."""
    out: dict[str, Any] = {
        "id": rev.id,
        "topic_id": rev.topic_id,
        "state": rev.state,
        "state_label": REVISION_STATE_LABELS.get(rev.state, rev.state),
        "base_version": rev.base_version,
        "version": rev.version,
        "title": str((rev.data or {}).get("title") or rev.topic_id),
        "author": rev.author_name,
        "author_id": rev.author_id,
        "created_at": iso(rev.created_at),
        "updated_at": iso(rev.updated_at),
        "reviewer": rev.reviewer_name,
        "reviewed_at": iso(rev.reviewed_at),
        "published_at": iso(rev.published_at),
        "note": rev.note,
    }
    if data:
        out["data"] = dict(rev.data)
    return out


def training_out(run: TrainingRun) -> dict[str, Any]:
    """A training run as JSON, with its German state and reason."""
    return {
        "id": run.id,
        "state": run.state,
        "state_label": TRAINING_STATE_LABELS.get(run.state, run.state),
        "generation": run.generation,
        "requested_by": run.requested_by,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "accuracy": run.accuracy,
        "live_accuracy": run.live_accuracy,
        "reason": run.reason,
    }


def audit_out(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """Audit entries as JSON; a publication's diff is left out (the history shows it)."""
    out = []
    for entry in entries:
        detail = dict(entry.detail or {})
        has_diff = bool(detail.pop("diff", None))
        out.append(
            {
                "id": entry.id,
                "at": iso(entry.at),
                "actor": entry.actor_name,
                "action": entry.action,
                "action_label": AUDIT_LABELS.get(entry.action, entry.action),
                "target": entry.target,
                "detail": detail,
                "has_diff": has_diff,
            }
        )
    return out


@lru_cache(maxsize=1)
def calculation_button() -> str:
    """The title of the calculation button the assistant adds (``domain.yml``)."""
    try:
        domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
        variants = domain["responses"]["utter_option_offer_calculation"]
        return str(variants[0]["text"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return DEFAULT_CALCULATION_BUTTON
