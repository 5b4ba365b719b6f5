"""The moderation queue: states, claims, decisions, screening, audit, publishing.

Imports ``storage``, never ``bot``.
"""
