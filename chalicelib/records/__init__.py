"""The frozen dataclasses passed between services and storage, one module per domain.

Records carry plain Python values only (no pydantic, pynamodb or chalice types); services
compute with them, storage turns them into items and back, the edge dumps them.
"""
