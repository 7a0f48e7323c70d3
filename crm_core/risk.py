"""Risk levels of an account from its margin snapshot, by the rules of risk_rules.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crm_core.alerts import AlertLevel
from crm_core.margin import MarginSnapshot

ORDER = (AlertLevel.warning, AlertLevel.margin_call, AlertLevel.force_close)
RATIOS = ("risk_degree", "exchange_risk_degree")


class RiskRulesError(ValueError):
    pass


@dataclass(frozen=True)
class Threshold:
    risk_degree: Decimal | None = None
    exchange_risk_degree: Decimal | None = None

    def met_by(self, snapshot: MarginSnapshot) -> bool:
        for name in RATIOS:
            limit = getattr(self, name)
            value = getattr(snapshot, name)
            if limit is not None and value is not None and value >= limit:
                return True
        return False


@dataclass(frozen=True)
class RiskRules:
    thresholds: dict[AlertLevel, Threshold]

    @classmethod
    def defaults(cls) -> "RiskRules":
        return cls({AlertLevel.warning: Threshold(risk_degree=Decimal("0.8")),
                    AlertLevel.margin_call: Threshold(risk_degree=Decimal("1")),
                    AlertLevel.force_close: Threshold(exchange_risk_degree=Decimal("1"))})

    @classmethod
    def from_dict(cls, data: dict, where: str = "risk_rules.yaml") -> "RiskRules":
        levels = data.get("levels")
        if not isinstance(levels, dict):
            raise RiskRulesError(f"{where}: 'levels' must be a mapping of level names")
        thresholds = {}
        for name, spec in levels.items():
            try:
                level = AlertLevel(name)
            except ValueError:
                raise RiskRulesError(f"{where}: unknown level {name!r} "
                                     f"(expected one of {', '.join(l.value for l in ORDER)})") from None
            if not isinstance(spec, dict) or not spec:
                raise RiskRulesError(f"{where}: level {name}: give risk_degree and/or exchange_risk_degree")
            values = {}
            for key, raw in spec.items():
                if key not in RATIOS:
                    raise RiskRulesError(f"{where}: level {name}: unknown key {key!r}")
                try:
                    percent = Decimal(str(raw))
                except InvalidOperation:
                    raise RiskRulesError(f"{where}: level {name}: {key} must be a number, got {raw!r}") from None
                if percent <= 0:
                    raise RiskRulesError(f"{where}: level {name}: {key} must be above 0")
                values[key] = percent / 100
            thresholds[level] = Threshold(**values)
        return cls(thresholds)

    def level_of(self, snapshot: MarginSnapshot) -> AlertLevel | None:
        """The most severe level the snapshot meets, or None for normal (正常)."""
        for level in reversed(ORDER):
            threshold = self.thresholds.get(level)
            if threshold is not None and threshold.met_by(snapshot):
                return level
        return None
