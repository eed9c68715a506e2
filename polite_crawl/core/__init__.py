"""The decision core: synchronous and free of Scrapy imports. The checks and the gate are pure;
config.py validates the settings and loads the policy files, assembly.py builds the
Decider from them.

See docs/architecture.md for the path of one request through the gate.
"""
