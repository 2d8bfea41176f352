"""Minh Bạch domain: aggregates, events and the money rules of DESIGN §3. No IO here."""
