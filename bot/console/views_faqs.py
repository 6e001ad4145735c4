"""FAQs (admins): list with search, create, edit, delete, import and export files in the CLI's
format, and "try a question" against the unsaved edit."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for

from bot.console import teaching
from bot.console.blueprint import bp, console, form_text, page
from bot.console.security import ADMIN, role
from bot.console.trial import run_trial
from bot.understanding.intent_file import IntentFileError, dump_intents, parse_intents
from bot.understanding.intent_store import IntentClash

IMPORT_MAX_BYTES = 2 * 1024 * 1024


def _lines(name: str) -> list[str]:
    raw = (request.form.get(name) or "").replace("\r", "")
    return [line.strip() for line in raw.split("\n") if line.strip()][:500]


def _words(name: str) -> list[str]:
    raw = (request.form.get(name) or "").replace(",", ",").replace("、", ",")
    return [w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()][:100]


def doc_from_form() -> dict[str, Any]:
    """The edited FAQ in the import format (not validated yet)."""
    doc: dict[str, Any] = {"id": form_text("id", 100), "question": form_text("question", 500),
                           "answer": form_text("answer", 4000)}
    for name in ("examples",):
        if _lines(name):
            doc[name] = _lines(name)
    for name in ("keywords", "terms"):
        if _words(name):
            doc[name] = _words(name)
    threshold = form_text("threshold", 10)
    if threshold:
        try:
            doc["threshold"] = float(threshold)
        except ValueError:
            doc["threshold"] = threshold   # validation names the field
    question_en = form_text("question_en", 500)
    if question_en:
        doc["questions"] = {"en": question_en}
    return doc


def validate(doc: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The FAQ as the import would accept it; IntentFileError says what is wrong."""
    clean = parse_intents(json.dumps([doc], ensure_ascii=False), "FAQ")[0]
    store = console().services.intents
    existing = store.get(clean["id"])
    if clean["id"] in store.builtin_ids() or (existing and existing.get("builtin")):
        raise IntentFileError(f"id {clean['id']!r} is used by a built-in intent")
    if creating and existing is not None:
        raise IntentFileError(f"id {clean['id']!r} is already used by another FAQ")
    return clean


def suggested_id(question: str) -> str:
    return "faq_" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:8]


@bp.route("/faqs")
@role(ADMIN)
def faqs():  # noqa: ANN201
    query = (request.args.get("q") or "").strip().lower()
    # The merchant's own FAQs first; the built-ins (editable only in their file) after them.
    docs = sorted(console().services.intents.all(), key=lambda d: (bool(d.get("builtin")), d["id"]))
    if query:
        docs = [d for d in docs if query in json.dumps(d, ensure_ascii=False).lower()]
    return page("faqs.html", docs=docs, q=query)


@bp.route("/faqs/new")
@role(ADMIN)
def faq_new():  # noqa: ANN201
    group_id = request.args.get("group", "")
    doc: dict[str, Any] = {}
    group = console().services.unmatched.get(group_id) if group_id else None
    if group:
        doc = {"question": group.get("text", ""), "id": suggested_id(group.get("text", ""))}
    return page("faq_edit.html", doc=doc, creating=True, group=group_id if group else "",
                trial=None)


@bp.route("/faqs/<intent_id>")
@role(ADMIN)
def faq_edit(intent_id: str):  # noqa: ANN201
    doc = console().services.intents.get(intent_id)
    if doc is None:
        abort(404)
    return page("faq_edit.html", doc=doc, creating=False, group="", trial=None,
                readonly=bool(doc.get("builtin")))


@bp.route("/faqs/save", methods=["POST"])
@role(ADMIN)
def faq_save():  # noqa: ANN201
    c = console()
    store = c.services.intents
    creating = request.form.get("creating") == "1"
    group_id = form_text("group", 100)
    doc = doc_from_form()
    if creating and not doc["id"] and doc["question"]:
        doc["id"] = suggested_id(doc["question"])
    if request.form.get("action") == "try":
        trial = None
        error = None
        stored = store.get(doc["id"]) if not creating else None
        try:
            if stored and stored.get("builtin"):
                # Built-ins are edited in intents/builtin.yaml: try them as they are.
                doc = {k: v for k, v in stored.items() if k != "builtin"}
                trial = run_trial(store, doc, form_text("try_question", 500))
                return page("faq_edit.html", doc=doc, creating=False, group="", trial=trial,
                            readonly=True, try_question=form_text("try_question", 500))
            clean = validate(doc, creating)
            trial = run_trial(store, clean, form_text("try_question", 500))
        except IntentFileError as exc:
            error = str(exc)
        return page("faq_edit.html", doc=doc, creating=creating, group=group_id, trial=trial,
                    error=error, try_question=form_text("try_question", 500))
    try:
        clean = validate(doc, creating)
        store.upsert(clean)
    except (IntentFileError, IntentClash) as exc:
        return page("faq_edit.html", status=400, doc=doc, creating=creating, group=group_id,
                    trial=None, error=str(exc))
    c.record("faq_created" if creating else "faq_updated", id=clean["id"], faq=clean)
    if group_id:
        teaching.resolve(c.services, group_id)
    flash("faq_saved", "ok")
    return redirect(url_for("console.faq_edit", intent_id=clean["id"]))


@bp.route("/faqs/<intent_id>/delete", methods=["POST"])
@role(ADMIN)
def faq_delete(intent_id: str):  # noqa: ANN201
    c = console()
    before = c.services.intents.get(intent_id)
    if before is None or not c.services.intents.delete(intent_id):
        abort(404)
    c.record("faq_deleted", id=intent_id, faq=before)
    flash("faq_deleted", "ok")
    return redirect(url_for("console.faqs"))


@bp.route("/faqs/export")
@role(ADMIN)
def faq_export():  # noqa: ANN201
    fmt = "json" if request.args.get("fmt") == "json" else "yaml"
    text = dump_intents(console().services.intents.export(), fmt)
    return Response(text, mimetype="application/json" if fmt == "json" else "application/x-yaml",
                    headers={"Content-Disposition": f"attachment; filename=faq.{fmt}"})


@bp.route("/faqs/import", methods=["POST"])
@role(ADMIN)
def faq_import():  # noqa: ANN201
    c = console()
    store = c.services.intents
    upload = request.files.get("file")
    replace = request.form.get("replace") == "1"
    data = upload.read(IMPORT_MAX_BYTES + 1) if upload else b""
    name = (upload.filename if upload else "") or "file"
    try:
        if not data:
            raise IntentFileError("no file chosen")
        if len(data) > IMPORT_MAX_BYTES:
            raise IntentFileError(f"the file is larger than {IMPORT_MAX_BYTES // 1024} KB")
        docs = parse_intents(data.decode("utf-8"), name)
        clash = [d["id"] for d in docs if d["id"] in store.builtin_ids()]
        if clash:
            raise IntentClash(clash, "built-in")
        store.ensure_builtins()
        counts = store.import_docs(docs, replace=replace)
    except UnicodeDecodeError:
        return page("faqs.html", status=400, docs=store.all(), q="",
                    import_error=f"{name}: not UTF-8 text; nothing was changed")
    except (IntentFileError, IntentClash) as exc:
        return page("faqs.html", status=400, docs=store.all(), q="",
                    import_error=f"{exc}; nothing was changed")
    c.record("faq_imported", file=name, replace=replace, **counts)
    flash("faq_imported", "ok")
    return redirect(url_for("console.faqs"))
