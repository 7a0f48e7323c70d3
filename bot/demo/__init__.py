"""The demo: realistic staff, clients, accounts, margin data and assessments for `brokerbot demo`.
Not part of the domain (crm_core): the product never needs it to run."""
