"""Approvals (maker-checker): the stored requests and decisions (models), the routes of
approval_flows.yaml (flows), deciding and routing (service) and applying an approved request (outcomes)."""
from crm_core.approvals.models import (  # noqa: F401 - the package's public names
    ApprovalType, ApprovalStatus, Decision, ApprovalRequest, ApprovalDecision, ApprovalError)
from crm_core.approvals.flows import (  # noqa: F401 - the package's public names
    Role, DetailField, DURATION, minutes, Sla, Condition, Step, Flow, Delegation, ApprovalFlows)
from crm_core.approvals.outcomes import (  # noqa: F401 - the package's public names
    ClientTerms, ClientPermission, terms_of, permissions_of, apply_outcome)
from crm_core.approvals.service import (  # noqa: F401 - the package's public names
    step_label, route_step, escalation_target, delegate, create_request, Outcome, may_decide, decisions, decide, load_for_update, waiting_for, requested_by, for_client, Overdue, overdue)
