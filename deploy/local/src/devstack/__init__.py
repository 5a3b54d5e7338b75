"""Local servers and the whole platform, for development and CI.

Kafka and the MongoDB-wire server run from Maven Central jars that our own small Maven projects
materialise (cached under ``~/.cache/cdp``); the services run as plain processes.
"""
