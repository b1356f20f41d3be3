"""Local stand-ins for outside services, spoken to over real HTTP (never monkeypatched)."""
