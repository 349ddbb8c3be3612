"""freqtrade glue: the adapter mixin with every freqtrade hook the plugin overrides (exchange.py),
the class freqtrade resolves, and their helpers. Imports every layer below; never tools or sim.
"""
