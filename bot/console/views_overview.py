"""Overview (admins): the last 30 days at a glance, as server-rendered SVG plots."""

from __future__ import annotations

from bot.console.blueprint import bp, console, lang, page
from bot.console.charts import COLOURS, line_chart
from bot.console.i18n import translate
from bot.console.security import ADMIN, role
from bot.understanding.unmatched import GROUPS

DAYS = 30


def overview_series(rows: list) -> dict[str, list]:
    """The plotted figures per day; a share or rate is None on a day with nothing to divide."""
    out: dict[str, list] = {k: [] for k in (
        "messages", "answered_share", "unmatched", "handoffs", "push_sent", "push_held",
        "push_failed", "wismo_rate", "in_transit", "wismo")}
    for _, c in rows:
        messages = c.get("messages", 0)
        out["messages"].append(messages)
        out["answered_share"].append(100.0 * c.get("answered", 0) / messages if messages else None)
        for k in ("unmatched", "handoffs", "push_sent", "push_held", "push_failed", "wismo",
                  "in_transit"):
            out[k].append(c.get(k, 0))
        transit = c.get("in_transit", 0)
        out["wismo_rate"].append(100.0 * c.get("wismo", 0) / transit if transit else None)
    return out


def push_counts(rows: list) -> None:
    """The pushes' own daily counters (bot.pushes.stats) into each day's row."""
    pushes = console().pushes
    if pushes is None:
        return
    pipe = console().services.redis.pipeline(transaction=False)
    for day, _ in rows:
        pipe.hmget(pushes.stats.key(day.strftime("%Y%m%d")),
                   "status:sent", "status:held", "status:failed")
    for (_, counts), values in zip(rows, pipe.execute(), strict=True):
        for name, value in zip(("push_sent", "push_held", "push_failed"), values, strict=True):
            counts[name] = int(value or 0)


@bp.route("/overview")
@role(ADMIN)
def overview():  # noqa: ANN201
    c = console()
    rows = c.stats.days(c.services.clock.now(), DAYS)
    push_counts(rows)
    days = [d for d, _ in rows]
    s = overview_series(rows)
    current = lang()

    def t(key: str) -> str:
        return translate(current, key)

    charts = [
        (t("ov_messages"), line_chart(t("ov_messages"), days, [(t("ov_messages"), s["messages"])]),
         [(t("ov_messages"), COLOURS[0])]),
        (t("ov_answered"), line_chart(t("ov_answered"), days,
                                      [(t("ov_answered"), s["answered_share"])], percent=True),
         [(t("ov_answered"), COLOURS[0])]),
        (t("ov_unmatched_handoffs"), line_chart(
            t("ov_unmatched_handoffs"), days,
            [(t("ov_unmatched"), s["unmatched"]), (t("ov_handoffs"), s["handoffs"])]),
         [(t("ov_unmatched"), COLOURS[0]), (t("ov_handoffs"), COLOURS[1])]),
        (t("ov_pushes"), line_chart(
            t("ov_pushes"), days, [(t("ov_push_sent"), s["push_sent"]),
                                   (t("ov_push_held"), s["push_held"]),
                                   (t("ov_push_failed"), s["push_failed"])]),
         [(t("ov_push_sent"), COLOURS[0]), (t("ov_push_held"), COLOURS[1]),
          (t("ov_push_failed"), COLOURS[2])]),
        (t("ov_wismo"), line_chart(t("ov_wismo"), days, [(t("ov_wismo"), s["wismo_rate"])]),
         [(t("ov_wismo"), COLOURS[0])]),
    ]
    today = rows[-1][1] if rows else {}
    return page("overview.html", charts=charts, today=today, days=DAYS,
                waiting=c.services.redis.zcard(c.handoffs.QUEUE),
                unmatched_groups=c.services.redis.zcard(GROUPS))
