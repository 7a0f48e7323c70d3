"""query_margin and query_positions."""
from __future__ import annotations

from decimal import Decimal

from crm_core.margin import client_funds, latest_holdings
from intents import format as fmt
from intents.context import HandlerContext
from intents.registry import handler
from intents.types import Intent
from messaging.replies import Reply


def _level_label(ctx: HandlerContext, snapshot) -> str:
    level = ctx.risk_rules.level_of(snapshot)
    return ctx.t(f"level_{level.value}" if level else "level_normal")


@handler("query_margin")
def query_margin(ctx: HandlerContext, intent: Intent) -> Reply:
    client = ctx.client
    blocks = []
    for funds in client_funds(session=ctx.session, client=client):
        account, snap = funds.account.account_no, funds.snapshot
        if snap is None:
            blocks.append(ctx.t("margin_no_snapshot", client=client.name, account=account))
            continue
        na = ctx.t("not_applicable")
        lines = [
            ctx.t("margin_title", client=client.name, account=account),
            ctx.t("margin_balance", value=fmt.money(snap.balance)),
            ctx.t("margin_curr_margin", value=fmt.money(snap.curr_margin)),
            ctx.t("margin_available", value=fmt.money(snap.available)),
            ctx.t("margin_risk", value=fmt.percent(snap.risk_degree) if snap.risk_degree is not None else na,
                  level=_level_label(ctx, snap)),
        ]
        if snap.exchange_risk_degree is not None:
            lines.append(ctx.t("margin_exchange_risk", value=fmt.percent(snap.exchange_risk_degree)))
        if snap.margin_call > 0:
            lines.append(ctx.t("margin_call_amount", value=fmt.money(snap.margin_call)))
        lines.append(ctx.t("margin_time", value=fmt.when(snap.timestamp, ctx.tz)))
        blocks.append("\n".join(lines))
    if not blocks:
        blocks.append(ctx.t("client_no_accounts", client=client.name))
    return Reply("\n\n".join(blocks), private=True)


@handler("query_positions")
def query_positions(ctx: HandlerContext, intent: Intent) -> Reply:
    client = ctx.client
    wanted = str(intent.slots.get("instrument") or "").lower()
    blocks = []
    for account in client.accounts:
        holdings = latest_holdings(session=ctx.session, account_id=account.id)
        rows = holdings.positions if holdings is not None else []
        if wanted:
            rows = [p for p in rows if p.instrument.lower().startswith(wanted)]
        if not rows:
            if not wanted:
                lines = [ctx.t("positions_none", client=client.name, account=account.account_no)]
                if holdings is not None:  # reported flat: as of when
                    lines.append(ctx.t("margin_time", value=fmt.when(holdings.timestamp, ctx.tz)))
                blocks.append("\n".join(lines))
            continue
        lines = [ctx.t("positions_title", client=client.name, account=account.account_no)]
        total_margin, total_pnl = Decimal("0.00"), Decimal("0.00")
        for p in rows:
            lines.append(ctx.t("positions_row", instrument=p.instrument, exchange=p.exchange,
                               direction=ctx.t(f"direction_{p.direction.value}"), volume=p.volume,
                               margin=fmt.money(_amount(p.margin)), pnl=fmt.money(_amount(p.position_profit))))
            total_margin += _amount(p.margin)
            total_pnl += _amount(p.position_profit)
        if len(rows) > 1:
            lines.append(ctx.t("positions_total", margin=fmt.money(total_margin), pnl=fmt.money(total_pnl)))
        lines.append(ctx.t("margin_time", value=fmt.when(holdings.timestamp, ctx.tz)))
        blocks.append("\n".join(lines))
    if not blocks:
        key = "positions_none_for_instrument" if wanted else "client_no_accounts"
        blocks.append(ctx.t(key, client=client.name, instrument=intent.slots.get("instrument", "")))
    return Reply("\n\n".join(blocks), private=True)


def _amount(value: Decimal | None) -> Decimal:
    """A missing amount counts as zero (a Decimal: `value or 0` would turn 0.00 into int 0)."""
    return value if value is not None else Decimal("0.00")
