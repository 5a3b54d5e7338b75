"""The platform's shared language: every Kafka topic, its key and event models, and the API
models that more than one component uses. Services depend on this package, never on each other.
"""
