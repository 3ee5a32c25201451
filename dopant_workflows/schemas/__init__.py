"""Pydantic documents stored in MongoDB: units in field names, schema_version, stable keys, provenance."""
