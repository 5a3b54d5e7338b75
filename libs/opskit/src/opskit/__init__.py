"""The ops CLI's commands as functions: consumer lag, dead letters and their re-drive, a
service's replay (its groups' offsets reset), the outbox report. ``opskit.cli`` prints them."""
