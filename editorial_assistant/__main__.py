"""Allows ``python -m editorial_assistant``."""

from editorial_assistant.cli import main

main()
