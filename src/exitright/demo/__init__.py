"""The demo platform: a Chinese shopping and food-delivery app for ExitRight to erase from.

- ``schema``: its 27 tables (SQLAlchemy Core, a ``MetaData`` of its own);
- ``generate``: deterministic zh-CN data for a seed (pure: no I/O, no clock);
- ``seed``: ``create_schema``, ``is_seeded``, ``seed_platform``, ``drop_platform``,
  ``demo_phones`` — rows, uploaded files and Redis keys;
- ``uploads``: where uploaded files live and the tiny JPEGs written there.

Imports stay in the submodules, so that importing the generator does not pull in a database.
"""
