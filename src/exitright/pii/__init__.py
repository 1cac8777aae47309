"""Recognising personal data: formats and checksums of Chinese identifiers.

Pure functions, no I/O. ``idcard`` handles 18-digit resident ID numbers (GB 11643 checksum),
``phone`` mainland mobile numbers. The demo generator builds valid values with them and the
detectors of ``datamap check`` and the residual check recognise them.
"""
