"""Platform Terms-of-Service policies: models (policy/model.py), loading and validation
(policy/loader.py), host → platform resolution (policy/resolver.py) and consent grants
(policy/consent.py). See docs/policies.md."""
