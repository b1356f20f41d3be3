"""Backups that are proven: continuous replication, daily snapshots, restic, restores, drills."""
