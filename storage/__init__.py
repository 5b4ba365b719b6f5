"""Persistence: SQLModel tables, the async database, repositories, migrations.

Imports nothing of the bot.
"""
