"""kpi_report: clients, equity, new accounts and interactions for me, my team or the branch, or
for a colleague the asker may see (a supervisor's team member: 王芳这个月的业绩)."""
from __future__ import annotations

from crm_core.kpi import PERIODS, kpi
from intents import format as fmt
from intents.context import HandlerContext
from intents.registry import handler
from intents.subjects import subject_of
from intents.types import Intent
from messaging.replies import Reply

METRICS = ("clients", "equity", "new_accounts", "interactions")


@handler("kpi_report")
def report(ctx: HandlerContext, intent: Intent) -> Reply:
    wanted = str(intent.slots.get("scope") or "me")
    period = str(intent.slots.get("period") or "month")
    period = period if period in PERIODS else "month"
    person = subject_of(ctx, intent, "kpi_subject_refused")
    if isinstance(person, Reply):
        return person
    if person is not None and person.id != ctx.staff.id:  # that person's own figures, never the asker's
        figures = kpi(session=ctx.session, staff=person, scope="me", period=period, now=ctx.now)
        title = ctx.t("kpi_title_subject", name=person.name, period=ctx.t(f"period_{period}"),
                      now=fmt.when(ctx.now, ctx.tz))
        return Reply("\n".join([title] + _figure_lines(ctx, intent, figures)))
    figures = kpi(session=ctx.session, staff=ctx.staff, scope=wanted if wanted in ("me", "team", "branch") else "me",
                  period=period, now=ctx.now)
    lines = [ctx.t("kpi_title", scope=ctx.t(f"scope_{figures.scope}"), period=ctx.t(f"period_{period}"),
                   now=fmt.when(ctx.now, ctx.tz))]
    lines += _figure_lines(ctx, intent, figures)
    if figures.scope != wanted:
        lines.append(ctx.t("kpi_narrowed", scope=ctx.t(f"scope_{figures.scope}")))
    return Reply("\n".join(lines))


def _figure_lines(ctx: HandlerContext, intent: Intent, figures) -> list[str]:
    metric = intent.slots.get("metric")
    shown = [metric] if metric in METRICS else list(METRICS)
    values = {"clients": str(figures.clients), "equity": fmt.money(figures.equity),
              "new_accounts": str(figures.new_accounts), "interactions": str(figures.interactions)}
    return [ctx.t(f"kpi_{name}", value=values[name]) for name in shown]
