"""Suitability (适当性管理): the rules of suitability.yaml (rules), the records kept 20 years
(models), and recording, matching and expiry (service)."""
from crm_core.suitability.rules import (  # noqa: F401 - the package's public names
    PRODUCT_LEVELS, LOWEST, ClientLevel, ProductLevel, rank, Label, Category, Product, OPTION, FUTURES, CODE, SuitabilityRules, packaged_rules, SuitabilityError, Scored, score, level_of, add_months)
from crm_core.suitability.models import (  # noqa: F401 - the package's public names
    SuitabilityAssessment, SpecialRiskWarning)
from crm_core.suitability.service import (  # noqa: F401 - the package's public names
    record_assessment, MAX_SCORE, default_valid_until, last_valid_day, check_result, record_result, record_special_warning, current_assessment, SuitabilityCheck, check_product, expiring, queue_expiry_reminders)
