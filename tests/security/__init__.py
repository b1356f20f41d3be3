"""The attack suite: what a hostile caller can send to every route, and what must not happen."""
