"""Adapters to a platform's stores: SQL (SQLAlchemy), Redis and files. ``base.py`` is the port."""
