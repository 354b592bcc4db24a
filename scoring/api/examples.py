"""Examples of this app's partner API requests and replies, by operationId (common/api_schema.py)."""

EXAMPLES: dict = {}
