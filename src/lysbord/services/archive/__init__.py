"""The image archive: storing instances, the studies and their unmatched queue,
reconciliation with orders, the retrieval catalogue, storage commitment and priors.

Moves a procedure only to "images received"; the rest of the pathway is ``pathway``'s.
"""
