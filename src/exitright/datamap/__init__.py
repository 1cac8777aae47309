"""The data map: where a platform keeps a subject's data, and what happens to it on erasure.

``model.py`` and ``validate.py`` are pure (standard library and Pydantic, no I/O); ``loader.py``
reads YAML files; ``discover.py`` compares a map with the live stores.
"""
