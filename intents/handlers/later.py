"""Intents the catalog names whose capability comes with a later issue: the bot says plainly that
it cannot answer this yet, and what it can do, instead of answering something else."""
from __future__ import annotations

from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply

WHAT = {"client_stage": ("客户生命周期阶段", "a client's lifecycle stage"),
        "client_relations": ("关联客户", "related clients"),
        "exposure": ("风险敞口与集中度", "exposure and concentration"),
        "stress_test": ("价格冲击压力测试", "what-if price shocks"),
        "near_liquidation": ("接近强平的账户", "accounts near force close"),
        "report": ("管理报表与图表", "management reports and charts"),
        "aml_cases": ("反洗钱案例", "anti-money-laundering cases")}


@handler(*WHAT)
def later(ctx: HandlerContext, intent: Intent) -> Reply:
    zh, en = WHAT[intent.name]
    what = zh if ctx.lang == "zh" else en
    return Reply(ctx.t("not_yet_available", what=what) + "\n" + ctx.t("help"))
