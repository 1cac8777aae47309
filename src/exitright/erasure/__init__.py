"""Erasure: plan a subject's erasure from the data map, run it step by step, check the residue.

``planner.py`` is pure; ``executor.py`` runs persisted steps through the connectors;
``residual.py`` searches the stores afterwards; ``service.py`` is the use case the request
workflow calls.
"""
