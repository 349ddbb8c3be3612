"""What BingX is, as data and pure functions: its endpoints, error codes, rate limits, position
modes, stop triggers, tiers, liquidation, funding, delisting, reply shapes, and the plugin's
exception tree. No network, no freqtrade hooks. Of the plugin it imports only
freqtrade_bingx.base; of freqtrade, its exception classes (what freqtrade does next).
"""
