"""Local fake servers that speak the real wire protocols of the services brokerbot talks to."""
