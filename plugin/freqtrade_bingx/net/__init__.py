"""The network: the signed transport, one deadline per request, the clock, log redaction, and the
same rules fitted onto ccxt's objects. Imports base, bingx and state.
"""
