"""Risk: the rules of risk_rules.yaml (rules), alerts and their evidence (alerts), and the
evaluation of margin data against the rules (watch)."""
