"""Intent handlers: one small module per group of intents, each function tagged with
`intents.registry.handler`; intents.registry.load_all finds the modules here by themselves."""
