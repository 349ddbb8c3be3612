"""What a person runs, never a trading bot: the freqtrade-bingx command, preflight, rehearsals
against the local exchange, the main job and its sample data.
"""
