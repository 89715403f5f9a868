"""The `flightdeck` command."""
