"""Default business rules (YAML). Installed as the `brokerbot_config` package."""
