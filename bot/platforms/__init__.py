"""The chat platforms, one package each (wecom, dingtalk, slack, terminal): its adapter (verify,
parse to a ChatEvent, render a Reply), its settings view and what builds its sender. Each package's
`PLATFORM` is found by bot.platforms.registry; nothing else names a platform."""
