"""Plumbing every service shares, and nothing else: settings, logging, problem details, auth,
the broker and database factories, the outbox relay and the dead-lettering batch consumer.
Domain rules never live here."""
