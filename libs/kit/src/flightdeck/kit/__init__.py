"""The service kit: what every Flightdeck service is built from."""
