"""The retention vault: records law requires keeping, encrypted per subject, purged at expiry.

Normal code has no read path: ``VaultService.read`` needs an operator and a reason, and logs both.
"""
