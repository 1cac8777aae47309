"""The engine's own database: tables, engine factory, unit of work and Alembic migrations."""
